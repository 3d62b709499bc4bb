// SPDX-License-Identifier: Apache-2.0
#include "oci/admin_config.hpp"
#include "oci/capability_policy.hpp"
#include "oci/config.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/unit_support.hpp"

TEST_CASE("config.json capabilities are gathered from every set", "[caps]") {
  const auto cfg = ojh::parse_bundle_config(R"({"process":{"capabilities":{
      "bounding":["CAP_KILL","CAP_NET_RAW"],"effective":["CAP_KILL"],
      "permitted":["CAP_KILL"],"ambient":["CAP_SYS_PTRACE"]}}})");
  CHECK(cfg.capabilities == std::set<std::string>{"CAP_KILL", "CAP_NET_RAW", "CAP_SYS_PTRACE"});
  CHECK(ojh::parse_bundle_config(R"({"process":{}})").capabilities.empty());
  CHECK_THROWS_WITH(ojh::parse_bundle_config(R"({"process":{"capabilities":{"bounding":"x"}}})"),
                    "config.json: \"process.capabilities.bounding\" must be an array");
}

TEST_CASE("capabilities that get around cgroup BPF are refused unless the admin allows", "[caps]") {
  const std::set<std::string> runc_default = {"CAP_AUDIT_WRITE", "CAP_KILL",
                                              "CAP_NET_BIND_SERVICE"};
  CHECK(ojh::refused_capabilities(runc_default, {}).empty());
  CHECK_NOTHROW(ojh::check_capabilities(runc_default, {}));

  const std::set<std::string> docker_like = {"CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"};
  CHECK(ojh::refused_capabilities(docker_like, {}) == std::vector<std::string>{"CAP_NET_RAW"});
  CHECK_THROWS_WITH(ojh::check_capabilities(docker_like, {}),
                    "the container may hold CAP_NET_RAW, which can get around cgroup BPF (see "
                    "docs/policy.md); drop it (podman --cap-drop=NET_RAW) or accept the risk in "
                    "the admin config (allow-capabilities = CAP_NET_RAW)");
  CHECK(ojh::refused_capabilities(docker_like, {"CAP_NET_RAW"}).empty());

  const std::set<std::string> privileged = {"CAP_NET_RAW",   "CAP_SYS_ADMIN",  "CAP_SYS_MODULE",
                                            "CAP_SYS_RAWIO", "CAP_SYS_PTRACE", "CAP_BPF"};
  CHECK(ojh::refused_capabilities(privileged, {"CAP_NET_RAW"}).size() == 4);
}

TEST_CASE("allow-capabilities in the admin config takes only known names", "[caps][admin]") {
  const auto c = ojh::parse_admin_config(
      "allow-capabilities = CAP_NET_RAW\nallow-capabilities = CAP_SYS_PTRACE,CAP_SYS_ADMIN\n", "x");
  CHECK(c.allow_capabilities ==
        std::vector<std::string>{"CAP_NET_RAW", "CAP_SYS_PTRACE", "CAP_SYS_ADMIN"});
  CHECK_THROWS_WITH(ojh::parse_admin_config("allow-capabilities = CAP_CHOWN\n", "x"),
                    Catch::Matchers::StartsWith("x: allow-capabilities: \"CAP_CHOWN\": expected"));
}

TEST_CASE("writable cgroup filesystems that reach outside the container are refused", "[caps]") {
  const auto cfg = [](const std::string& mounts, bool cgroupns) {
    return ojh::parse_bundle_config(R"({"linux":{"namespaces":[{"type":"mount"})" +
                                    std::string(cgroupns ? R"(,{"type":"cgroup"})" : "") +
                                    R"(]},"mounts":[)" + mounts + "]}");
  };
  const std::string runc_default =
      R"({"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup",
          "options":["nosuid","noexec","nodev","relatime","ro"]})";
  CHECK_NOTHROW(ojh::check_cgroup_mounts(cfg(runc_default, false)));
  const std::string rw_cgroup2 =
      R"({"destination":"/sys/fs/cgroup","type":"cgroup2","source":"cgroup2","options":["rw"]})";
  CHECK_NOTHROW(ojh::check_cgroup_mounts(cfg(rw_cgroup2, true)));  // its own subtree only
  CHECK_THROWS_WITH(ojh::check_cgroup_mounts(cfg(rw_cgroup2, false)),
                    Catch::Matchers::ContainsSubstring("without a cgroup namespace of its own"));
  const std::string host_bind =
      R"({"destination":"/hostcg","type":"bind","source":"/sys/fs/cgroup","options":["rbind"]})";
  CHECK_THROWS_WITH(ojh::check_cgroup_mounts(cfg(host_bind, true)),
                    Catch::Matchers::ContainsSubstring("a bind mount of the host's cgroup tree"));
  const std::string host_bind_ro =
      R"({"destination":"/hostcg","source":"/sys/fs/cgroup/unified","options":["rbind","ro"]})";
  CHECK_NOTHROW(ojh::check_cgroup_mounts(cfg(host_bind_ro, false)));
  const std::string sys_bind =
      R"({"destination":"/hostsys","source":"/sys","options":["rbind","rw"]})";
  CHECK_THROWS(ojh::check_cgroup_mounts(cfg(sys_bind, true)));
}

TEST_CASE("capabilities are judged in every spelling a runtime accepts", "[caps]") {
  ojh::unit::check_capability_spellings({
      .net_raw = {"CAP_NET_RAW", "cap_net_raw", "Cap_Net_Raw", "NET_RAW", "net_raw",
                  " CAP_NET_RAW ", "13", "0x0d", "0XD"},
      .read_as = {{"21", "CAP_SYS_ADMIN"}, {"5", "CAP_#5"}, {"chown", "CAP_CHOWN"}},
      .not_refused = {"cap_chown", "5", "CAP_KILL"},
  });
}

TEST_CASE("bind sources under /proc may lead to the host's cgroup tree", "[caps]") {
  auto config_with = [](const std::string& source, const std::string& options) {
    return ojh::parse_bundle_config(
        R"({"mounts":[{"destination":"/host","type":"bind","source":")" + source +
        R"(","options":)" + options + "}]}");
  };
  // Magic links resolve to wherever they point: no lexical rule sees /sys/fs/cgroup here.
  for (const std::string source :
       {"/proc/1/root/sys/fs/cgroup", "/proc/self/root/sys", "/proc/thread-self/root",
        "/proc/self/cwd", "/proc/42/fd/3", "/proc", "//proc/./1/root/", "/x/../proc/1/root"}) {
    CAPTURE(source);
    CHECK_THROWS_WITH(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","rw"])")),
                      Catch::Matchers::ContainsSubstring("a path under /proc"));
    CHECK_THROWS_WITH(ojh::check_cgroup_mounts(config_with(source, R"(["bind"])")),
                      Catch::Matchers::ContainsSubstring("writable cgroup filesystem"));
    // It may be a directory above the cgroup mount: "ro" on an rbind does not reach it.
    CHECK_THROWS_WITH(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","ro"])")),
                      Catch::Matchers::ContainsSubstring("\"rro\""));
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","rro"])")));
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["bind","ro"])")));
  }
  for (const std::string source : {"/procx/1/root", "/srv/proc/1/root", "/var/lib/x"}) {
    CAPTURE(source);
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","rw"])")));
  }
}

TEST_CASE("\"ro\" on an rbind of a directory above the cgroup mount is not read-only", "[caps]") {
  auto config_with = [](const std::string& source, const std::string& options) {
    return ojh::parse_bundle_config(
        R"({"mounts":[{"destination":"/host","type":"bind","source":")" + source +
        R"(","options":)" + options + "}]}");
  };
  // runc and crun remount only the top mount read-only; /sys/fs/cgroup below stays writable.
  for (const std::string source : {"/", "/sys", "/sys/fs"}) {
    CAPTURE(source);
    CHECK_THROWS_WITH(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","ro"])")),
                      Catch::Matchers::ContainsSubstring("mount it read-only recursively"));
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","ro","rro"])")));
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["rro"])")));
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["bind","ro"])")));
  }
  // The cgroup mount itself is the top mount: "ro" reaches it.
  CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with("/sys/fs/cgroup", R"(["rbind","ro"])")));
}

TEST_CASE("CAP_NET_ADMIN is refused: a DNAT rule rewrites a judged destination", "[capabilities]") {
  CHECK(ojh::refused_capabilities({"CAP_NET_ADMIN"}, {}) ==
        std::vector<std::string>{"CAP_NET_ADMIN"});
  // Every spelling libcap takes: lower case, no prefix, its number.
  for (const char* spelling : {"cap_net_admin", "NET_ADMIN", "12", "0xc"}) {
    CAPTURE(spelling);
    CHECK(ojh::refused_capabilities({spelling}, {}) == std::vector<std::string>{"CAP_NET_ADMIN"});
  }
  CHECK(ojh::refused_capabilities({"CAP_NET_ADMIN"}, {"CAP_NET_ADMIN"}).empty());
}
