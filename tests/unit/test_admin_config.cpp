// SPDX-License-Identifier: Apache-2.0
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "hook/admin_config_file.hpp"
#include "oci/admin_config.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"

namespace {

std::string error_of(const std::string& text) {
  try {
    ojh::parse_admin_config(text, "oci-jail-hook.conf");
  } catch (const ojh::Error& e) {
    return e.what();
  }
  FAIL("no ojh::Error thrown for: " << text);
  return "";
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text, mode_t mode) {
    char tmpl[] = "/tmp/ojh-conf-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
    std::ofstream(path) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("an empty admin config is the safe default", "[admin]") {
  const auto c = ojh::parse_admin_config("# nothing\n", "x");
  CHECK_FALSE(c.fail_open);
  CHECK(c.block_cidrs.empty());
  CHECK(c.allow.empty());
  CHECK_FALSE(c.pin_dir);
  CHECK(c.log_level == ojh::LogLevel::Info);
  CHECK(c.ignore_interfaces == std::vector<std::string>{"kube-ipvs0"});
  CHECK(c.annotation_exceptions);
  CHECK_FALSE(c.enforce_all);
  CHECK(c.trusted_nameservers.empty());
}

TEST_CASE("require-unix", "[admin]") {
  CHECK_FALSE(ojh::parse_admin_config("", "x").require_unix);
  CHECK(ojh::parse_admin_config("require-unix = true\n", "x").require_unix);
  CHECK_FALSE(ojh::parse_admin_config("require-unix = false\n", "x").require_unix);
  CHECK(error_of("require-unix = 1\n") ==
        R"(oci-jail-hook.conf: require-unix="1": expected "true" or "false")");
}

TEST_CASE("enforce-all and trusted-nameservers", "[admin]") {
  CHECK(ojh::parse_admin_config("enforce-all = true\n", "x").enforce_all);
  CHECK_FALSE(ojh::parse_admin_config("enforce-all = false\n", "x").enforce_all);
  CHECK(error_of("enforce-all = yes\n") ==
        R"(oci-jail-hook.conf: enforce-all="yes": expected "true" or "false")");

  const auto c = ojh::parse_admin_config(
      "annotation-exceptions = false\n"
      "trusted-nameservers = 10.89.0.1,169.254.20.10\n"
      "trusted-nameservers = fd00::53,::ffff:10.88.0.1\n",
      "x");
  REQUIRE(c.trusted_nameservers.size() == 4);
  CHECK(ojh::format_address(c.trusted_nameservers[1]) == "169.254.20.10");
  CHECK(ojh::format_address(c.trusted_nameservers[2]) == "fd00::53");
  CHECK(c.trusted_nameservers[3].family == AF_INET);  // judged as IPv4, like the programs do
  CHECK(ojh::format_address(c.trusted_nameservers[3]) == "10.88.0.1");

  // Without annotation-exceptions = false every nameserver keeps its exception: the list
  // would change nothing, and a setting that silently does nothing is a trap.
  CHECK(error_of("trusted-nameservers = 10.89.0.1\n") ==
        "oci-jail-hook.conf: trusted-nameservers takes effect only with annotation-exceptions "
        "= false (set it, or remove trusted-nameservers)");
  const std::string bad = "annotation-exceptions = false\ntrusted-nameservers = ";
  CHECK_THAT(error_of(bad + "10.89.0.0/16\n"),
             Catch::Matchers::StartsWith(
                 "oci-jail-hook.conf: trusted-nameservers: entry \"10.89.0.0/16\": expected an "
                 "IPv4 or IPv6 address"));
  CHECK_THAT(error_of(bad + "[fd00::53]\n"),
             Catch::Matchers::ContainsSubstring("entry \"[fd00::53]\""));
  CHECK_THAT(error_of(bad + "fe80::1%eth0\n"),
             Catch::Matchers::ContainsSubstring("entry \"fe80::1%eth0\""));
  CHECK_THAT(error_of(bad + "10.0.0.1,,10.0.0.2\n"),
             Catch::Matchers::ContainsSubstring("entry 2 is empty"));
  CHECK_THAT(error_of(bad + "10.0.0.1,::ffff:10.0.0.1\n"),
             Catch::Matchers::ContainsSubstring("duplicates entry \"10.0.0.1\""));
  // An empty value is the default spelled out (the example config shows it so).
  CHECK(ojh::parse_admin_config("trusted-nameservers =\n", "x").trusted_nameservers.empty());
  CHECK(ojh::parse_admin_config(bad + "\n", "x").trusted_nameservers.empty());
}

TEST_CASE("ignore-interfaces replaces the default list", "[admin]") {
  CHECK(ojh::parse_admin_config("ignore-interfaces = a0,b1\nignore-interfaces = c2\n", "x")
            .ignore_interfaces == std::vector<std::string>{"a0", "b1", "c2"});
  CHECK(ojh::parse_admin_config("ignore-interfaces =\n", "x").ignore_interfaces.empty());
  CHECK_THROWS_WITH(ojh::parse_admin_config("ignore-interfaces = a/b\n", "x"),
                    Catch::Matchers::StartsWith("x: ignore-interfaces: \"a/b\""));
}

TEST_CASE("admin config values are parsed with the annotation syntax", "[admin]") {
  const auto c = ojh::parse_admin_config(
      "fail-open = true\n"
      "block-cidrs = 192.168.0.0/16,10.0.0.0/8\n"
      "block-cidrs = fd00::/8\n"
      "allow = tcp:127.0.0.1:11434\n"
      "allow = udp:*:53\n"
      "pin-dir = /sys/fs/bpf/ojh\n"
      "log-level = debug\n",
      "x");
  CHECK(c.fail_open);
  REQUIRE(c.block_cidrs.size() == 3);
  CHECK(ojh::format_cidr(c.block_cidrs[2]) == "fd00::/8");
  REQUIRE(c.allow.size() == 2);
  CHECK(ojh::format_exception(c.allow[0]) == "tcp:127.0.0.1:11434");
  CHECK(ojh::format_exception(c.allow[1]) == "udp:*:53");
  CHECK(c.pin_dir == "/sys/fs/bpf/ojh");
  CHECK(c.block_cidrs[0].origin == "admin config");
  CHECK(c.annotation_exceptions);
  CHECK_FALSE(
      ojh::parse_admin_config("annotation-exceptions = false\n", "x").annotation_exceptions);
  CHECK(c.log_level == ojh::LogLevel::Debug);
}

TEST_CASE("a rootless user's limits have defaults and bounds", "[admin]") {
  const auto defaults = ojh::parse_admin_config("", "x");
  CHECK(defaults.user_max_containers == 64);
  CHECK(defaults.user_max_map_entries == 8192);
  const auto c =
      ojh::parse_admin_config("user-max-containers = 0\nuser-max-map-entries = 100\n", "x");
  CHECK(c.user_max_containers == 0);
  CHECK(c.user_max_map_entries == 100);
  for (const char* bad : {"-1", "1e3", "12 x", "0x10", "1000001", "", "many"})
    CHECK(error_of("user-max-containers = " + std::string(bad) + "\n") ==
          "oci-jail-hook.conf: user-max-containers=\"" + std::string(bad) +
              "\": expected a number from 0 to 1000000");
}

TEST_CASE("bad admin config values name the key and what is expected", "[admin]") {
  CHECK(error_of("fail-open = yes\n") ==
        R"(oci-jail-hook.conf: fail-open="yes": expected "true" or "false")");
  CHECK(error_of("log-level = loud\n") ==
        R"(oci-jail-hook.conf: log-level="loud": expected error, warning, info or debug)");
  CHECK(error_of("pin-dir = relative/dir\n") ==
        R"(oci-jail-hook.conf: pin-dir="relative/dir": expected an absolute path)");
  CHECK_THAT(error_of("block-cidrs = 10.0.0.1/8\n"),
             Catch::Matchers::StartsWith("oci-jail-hook.conf: block-cidrs: entry \"10.0.0.1/8\""));
  CHECK_THAT(error_of("allow = tcp:127.0.0.1:0\n"),
             Catch::Matchers::StartsWith("oci-jail-hook.conf: allow: entry \"tcp:127.0.0.1:0\""));
  CHECK_THAT(error_of("fail-closed = true\n"),
             Catch::Matchers::ContainsSubstring("unrecognised option 'fail-closed'"));
  CHECK_THAT(error_of("fail-open = true\nfail-open = false\n"),
             Catch::Matchers::ContainsSubstring("fail-open"));
}

TEST_CASE("the admin config file must be root-owned and not writable by others", "[admin]") {
  if (::geteuid() != 0) {
    WARN("not root: the files made here are not root-owned; only the mode checks run");
  }
  SECTION("group- or world-writable is refused") {
    for (mode_t mode : {0666, 0620, 0602}) {
      TempFile f("log-level = debug\n", mode);
      CHECK_THROWS_WITH(ojh::load_admin_config(f.path, true),
                        Catch::Matchers::ContainsSubstring("not writable by group or others"));
    }
  }
  SECTION("a missing default file is the default, a missing explicit file an error") {
    CHECK_FALSE(ojh::load_admin_config("/nonexistent/ojh.conf", false).fail_open);
    CHECK_THROWS_WITH(ojh::load_admin_config("/nonexistent/ojh.conf", true),
                      Catch::Matchers::ContainsSubstring("No such file"));
  }
  SECTION("inside a user namespace only enforce-all is taken, from any readable file") {
    TempFile all("enforce-all = true\nfail-open = true\n", 0644);
    CHECK(ojh::load_enforce_all_unverified(all.path));
    TempFile writable("enforce-all = true\n", 0666);  // the owner check cannot be made there
    CHECK(ojh::load_enforce_all_unverified(writable.path));
    TempFile none("fail-open = true\n", 0644);
    CHECK_FALSE(ojh::load_enforce_all_unverified(none.path));
    CHECK_FALSE(ojh::load_enforce_all_unverified("/nonexistent/ojh.conf"));
    TempFile broken("enforce-all = maybe\n", 0644);
    CHECK_THROWS_WITH(ojh::load_enforce_all_unverified(broken.path),
                      Catch::Matchers::ContainsSubstring("expected \"true\" or \"false\""));
  }
  if (::geteuid() == 0) {
    SECTION("a root-owned 0644 file is read") {
      TempFile f("log-level = debug\n", 0644);
      CHECK(ojh::load_admin_config(f.path, true).log_level == ojh::LogLevel::Debug);
    }
    SECTION("a symlink is not followed") {
      TempFile f("log-level = debug\n", 0644);
      const std::string link = f.path + ".link";
      REQUIRE(::symlink(f.path.c_str(), link.c_str()) == 0);
      CHECK_THROWS(ojh::load_admin_config(link, true));
      ::unlink(link.c_str());
    }
  }
}
