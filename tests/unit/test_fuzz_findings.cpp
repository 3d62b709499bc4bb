// SPDX-License-Identifier: Apache-2.0
// Regression tests for what fuzzing found (docs/fuzzing.md); each input is also in the fuzz
// corpus under tests/fuzz/corpus/<harness>/.
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "oci/admin_config.hpp"
#include "oci/capability_policy.hpp"
#include "oci/cgroup.hpp"
#include "oci/config.hpp"
#include "oci/error.hpp"
#include "oci/options_error.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/unit_support.hpp"

namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ojh::Error& e) {
    return e.what();
  }
  FAIL("no ojh::Error thrown");
  return "";
}

std::string config_error(const std::string& json) {
  return error_of([&] { ojh::parse_bundle_config(json); });
}

}  // namespace

// Boost.Program_options 1.74 expands "%placeholder%" in what() until none is left: forever,
// when the offending text holds its own placeholder (fuzz_admin_config, a hang).
TEST_CASE("admin config errors that quote a placeholder do not hang", "[admin][fuzz]") {
  auto error = [](const std::string& text) {
    return error_of([&] { ojh::parse_admin_config(text, "oci-jail-hook.conf"); });
  };
  CHECK(error("%invalid_line%\n") ==
        "oci-jail-hook.conf: the options configuration file contains an invalid line "
        "'%invalid_line%'");
  CHECK(error("x%original_token%y = 1\n") ==
        "oci-jail-hook.conf: unrecognised option 'x%original_token%y'");
  CHECK(error("%canonical_option%=1\n") ==
        "oci-jail-hook.conf: unrecognised option '%canonical_option%'");
  CHECK(error("fail\x1b-open = true\n") ==
        "oci-jail-hook.conf: unrecognised option 'fail\\x1b-open'");
  CHECK(error("fail-open = true\nfail-open = false\n") ==
        "oci-jail-hook.conf: option 'fail-open' cannot be specified more than once");
}

TEST_CASE("admin config pin-dir: no \"..\" component, no NUL", "[admin][fuzz]") {
  auto error = [](const std::string& text) {
    return error_of([&] { ojh::parse_admin_config(text, "oci-jail-hook.conf"); });
  };
  CHECK(error("pin-dir = /sys/fs/bpf/..\n") ==
        R"(oci-jail-hook.conf: pin-dir="/sys/fs/bpf/..": expected an absolute path)");
  CHECK(error("pin-dir = /..\n") ==
        R"(oci-jail-hook.conf: pin-dir="/..": expected an absolute path)");
  CHECK(error(std::string("pin-dir = /run/a\0b\n", 19)) ==
        R"(oci-jail-hook.conf: pin-dir="/run/a\x00b": expected an absolute path)");
  CHECK(ojh::parse_admin_config("pin-dir = /sys/fs/bpf/..x/...\n", "c").pin_dir ==
        "/sys/fs/bpf/..x/...");
}

TEST_CASE("describe_options_error on command-line errors", "[admin][fuzz]") {
  namespace po = boost::program_options;
  po::options_description desc;
  desc.add_options()("pin-dir", po::value<std::string>())("help", "");
  auto error = [&](std::vector<std::string> args) {
    try {
      po::variables_map vm;
      po::store(po::command_line_parser(args).options(desc).run(), vm);
    } catch (const po::error& e) {
      return ojh::describe_options_error(e);
    }
    FAIL("no po::error thrown");
    return std::string();
  };
  CHECK(error({"--%original_token%"}) == "unrecognised option '--%original_token%'");
  CHECK(error({"--pin-dir"}) == "the required argument for option '--pin-dir' is missing");
  CHECK(error({"--help=%option%"}) == "option '--help' does not take any arguments");
}

// The kernel never writes \000 (a path cannot hold NUL); decoding it would make fs_path
// "/sys/fs/cgroup\0/x/c1", which open() reads as the root cgroup's directory.
TEST_CASE("mountinfo escapes other than the kernel's four stay as they are", "[cgroup][fuzz]") {
  const std::string mountinfo = "40 1 0:40 / /sys/fs/cgroup\\000/x rw - cgroup2 none rw\n";
  const auto mount = ojh::find_cgroup2_mount(mountinfo);
  REQUIRE(mount);
  CHECK(mount->mount_point == "/sys/fs/cgroup\\000/x");
  const auto target = ojh::resolve_container_cgroup(mountinfo, "0::/c1\n", "0::/\n");
  CHECK(target.fs_path == "/sys/fs/cgroup\\000/x/c1");
  CHECK(ojh::find_cgroup2_mount("1 0 0:1 / /a\\101\\777 rw - cgroup2 none rw\n")->mount_point ==
        "/a\\101\\777");
  CHECK(ojh::find_cgroup2_mount("1 0 0:1 / /a\\040b\\011c\\012d\\134 rw - cgroup2 none rw\n")
            ->mount_point == "/a b\tc\nd\\");
}

// runc reads config.json with Go's encoding/json, which keeps the last of two equal keys,
// RapidJSON's FindMember the first: the hook would check capabilities runc never grants and
// miss the ones it does.
TEST_CASE("config.json keys the hook reads must be unique", "[config][fuzz]") {
  CHECK(config_error(
            R"({"process":{"capabilities":{},"capabilities":{"bounding":["CAP_SYS_ADMIN"]}}})") ==
        R"(config.json: duplicate key "process.capabilities")");
  CHECK(
      config_error(R"({"process":{"capabilities":{"bounding":[],"bounding":["CAP_NET_RAW"]}}})") ==
      R"(config.json: duplicate key "process.capabilities.bounding")");
  CHECK(config_error(
            R"({"mounts":[{"destination":"/etc/resolv.conf","source":"/a","source":"/b"}]})") ==
        R"(config.json: duplicate key "mounts[].source")");
  CHECK(config_error(R"({"root":{"path":"a","path":"b"}})") ==
        R"(config.json: duplicate key "root.path")");
}

TEST_CASE("config.json error lines escape the capability set name", "[config][fuzz]") {
  CHECK(config_error(R"({"process":{"capabilities":{"bounding\n\u001b[31m":"CAP_NET_RAW"}}})") ==
        R"(config.json: "process.capabilities.bounding\x0a\x1b[31m" must be an array)");
}

// crun reads capability names with libcap's cap_from_name(), which stops at the first byte
// that cannot continue a name or number (fuzz_capability, libcap as the reference).
TEST_CASE("capability names are judged as libcap reads them", "[caps][fuzz]") {
  ojh::unit::check_capability_spellings({
      .net_raw = {"13junk", "cap_net_raw1", "CAP_NET_RAW!", "13e", "0x0dZ",
                  "CAP_NET_RAW,CAP_SYS_ADMIN", std::string("cap_net_raw\0x", 13)},
      .read_as = {{"cap_sys_admin.x", "CAP_SYS_ADMIN"},
                  {"0x15;", "CAP_SYS_ADMIN"},
                  {"CAP_NET_RAW_X", "CAP_NET_RAW_X"}},
      .not_refused = {"CAP_NET_RAWX", "1", "CAP_KILL"},
  });
}

// The kernel resolves a bind source; a C runtime cuts strings at a NUL.
TEST_CASE("bind sources that show the host's cgroup tree in any spelling", "[caps][fuzz]") {
  auto config_with = [](const std::string& source, const std::string& options) {
    return ojh::parse_bundle_config(R"({"mounts":[{"destination":"/host","type":"bind","source":)" +
                                    source + R"(,"options":)" + options + "}]}");
  };
  for (const std::string source :
       {R"("/")", R"("/sys/")", R"("//sys/fs/cgroup")", R"("/sys/./fs//cgroup/unified")",
        R"("/x/../sys/fs")", R"("/../sys")", R"("../../../sys/fs/cgroup")"}) {
    CAPTURE(source);
    CHECK_THROWS_WITH(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","rw"])")),
                      Catch::Matchers::ContainsSubstring("writable cgroup filesystem"));
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","rro"])")));
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["bind","ro"])")));
  }
  for (const std::string source : {R"("/sysx")", R"("/sys/kernel")", R"("/sys/fs/cgroupx")",
                                   R"("rootfs/sys/fs/cgroup")", R"("/home/../srv")"}) {
    CAPTURE(source);
    CHECK_NOTHROW(ojh::check_cgroup_mounts(config_with(source, R"(["rbind","rw"])")));
  }
  CHECK(
      config_error(
          R"({"mounts":[{"destination":"/h","type":"bind","source":"/sys/fs/cgroup\u0000x"}]})") ==
      R"(config.json: mount "source" holds a NUL byte)");
  CHECK(config_error(R"({"mounts":[{"destination":"/h","source":"/s","options":["ro\u0000"]}]})") ==
        "config.json: mount option holds a NUL byte");
  CHECK(config_error(R"({"mounts":[{"destination":"/etc/resolv.conf\u0000","source":"/r"}]})") ==
        R"(config.json: mount "destination" holds a NUL byte)");
}

// Found by fuzz_bundle_config (CI, 9e5f6c8): only the network namespace's path was checked, yet
// the runtime joins every namespace it is given a path for, and crun reads that path up to the
// NUL.
TEST_CASE("a NUL in any namespace's path", "[config][fuzz]") {
  for (const std::string type : {"network", "user", "pid", "ipc", "uts", "mount", "cgroup"}) {
    CAPTURE(type);
    CHECK(config_error(R"({"linux":{"namespaces":[{"type":")" + type +
                       R"(","path":"/proc/1/ns/x\u0000y"}]}})") ==
          R"(config.json: "linux.namespaces[].path" holds a NUL byte)");
  }
}
