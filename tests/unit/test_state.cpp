// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "hook/file.hpp"
#include "oci/config.hpp"
#include "oci/error.hpp"
#include "oci/quote.hpp"
#include "oci/state.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/unit_support.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

using ojh::unit::error_of;
using ojh::unit::TempDir;

std::string state_error(const std::string& json) {
  return error_of([&] { ojh::parse_state(json); }).what();
}

constexpr const char* kRuncState =
    R"({"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":6534,"bundle":"/path",)"
    R"("annotations":{"jail.block-host":"true"}})";

// A valid state with one member replaced or added: {"ociVersion":"1.0","id":"c1",
// "status":"created", <extra>}.
std::string state_with(const std::string& extra, const std::string& id = "\"c1\"") {
  return R"({"ociVersion":"1.0","id":)" + id + R"(,"status":"created")" +
         (extra.empty() ? "" : "," + extra) + "}";
}

// "k0":"v","k1":"v",... (appended piecewise: GCC 12 -O3 warns falsely on "lit" + string).
std::string annotation_members(std::size_t count) {
  std::string members;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) members += ',';
    members += "\"k";
    members += std::to_string(i);
    members += "\":\"v\"";
  }
  return members;
}

// An anonymous in-memory file holding data, positioned at its start.
int memfd_with(const std::string& data) {
  const int fd = memfd_create("state", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
  return fd;
}

}  // namespace

TEST_CASE("runc createRuntime state", "[state]") {
  const ojh::State s = ojh::parse_state(kRuncState);
  CHECK(s.oci_version == "1.0.2-dev");
  CHECK(s.id == "c1");
  CHECK(s.status == "creating");
  CHECK(s.pid == 6534);
  CHECK(s.bundle == "/path");
  CHECK(s.annotations == ojh::Annotations{{"jail.block-host", "true"}});
}

TEST_CASE("crun state with extra keys and pid 0", "[state]") {
  const ojh::State s = ojh::parse_state(
      R"({"ociVersion":"1.0","id":"c1","status":"created","pid":0,"bundle":"/b",)"
      R"("root":"/run/crun","created":"2024-05-01T10:00:00.000000000Z","owner":"",)"
      R"("annotations":{"jail.block-host":"false","io.container.manager":"libpod"}})");
  CHECK(s.oci_version == "1.0");
  CHECK(s.status == "created");
  CHECK(s.pid == 0);
  CHECK(s.bundle == "/b");
  CHECK(s.annotations.size() == 2);
  CHECK(s.annotations.at("jail.block-host") == "false");
}

TEST_CASE("podman poststop state without pid", "[state]") {
  const ojh::State s = ojh::parse_state(
      R"({"ociVersion":"1.0.2-dev","id":"4b1c9ad0e8d4a7f5","status":"stopped",)"
      R"("bundle":"/var/lib/containers/storage/overlay-containers/4b1c9ad0e8d4a7f5/userdata",)"
      R"("annotations":{"jail.block-host":"true","io.podman.annotations.autoremove":"TRUE"}})");
  CHECK(s.status == "stopped");
  CHECK(s.pid == 0);
  CHECK(s.id == "4b1c9ad0e8d4a7f5");
  CHECK(s.annotations.size() == 2);
}

TEST_CASE("optional members may be absent", "[state]") {
  const ojh::State s = ojh::parse_state(state_with(""));
  CHECK(s.pid == 0);
  CHECK(s.bundle.empty());
  CHECK(s.annotations.empty());
  CHECK(ojh::parse_state(state_with(R"("annotations":{})")).annotations.empty());
}

TEST_CASE("status values", "[state]") {
  for (const std::string status : {"creating", "created", "running", "stopped"}) {
    CAPTURE(status);
    CHECK(ojh::parse_state(R"({"ociVersion":"1","id":"c","status":")" + status + R"("})").status ==
          status);
  }
  CHECK(
      state_error(R"({"ociVersion":"1","id":"c","status":"paused"})") ==
      R"(state JSON: status "paused" is invalid (expected creating, created, running or stopped))");
  for (const std::string status : {"", "Running", "running ", "stopped\\n", "stopped\\u0000"}) {
    CAPTURE(status);
    CHECK_THAT(state_error(R"({"ociVersion":"1","id":"c","status":")" + status + R"("})"),
               StartsWith("state JSON: status \""));
  }
}

TEST_CASE("malformed JSON is reported with its offset", "[state]") {
  CHECK(state_error(R"({"ociVersion":"1.0" "id":"c1"})") ==
        "state JSON: invalid at offset 20: Missing a comma or '}' after an object member.");
  CHECK(state_error("") == "state JSON: invalid at offset 0: The document is empty.");
  CHECK_THAT(state_error("   \n"), StartsWith("state JSON: invalid at offset 4: "));
  CHECK_THAT(state_error(R"({"ociVersion":'1.0'})"),
             StartsWith("state JSON: invalid at offset 14"));
  CHECK_THAT(state_error(state_with("") + " {}"),
             ContainsSubstring("The document root must not be followed by other values."));
  CHECK_THAT(state_error(state_with(R"("x":NaN)")), StartsWith("state JSON: invalid at offset"));
  CHECK_THAT(state_error(state_with(R"("x":1,)")), StartsWith("state JSON: invalid at offset"));
  CHECK_THAT(state_error(state_with(R"("x":/*c*/1)")), StartsWith("state JSON: invalid at offset"));
}

TEST_CASE("truncated JSON is refused at every cut", "[state]") {
  const std::string full = kRuncState;
  for (std::size_t length = 0; length < full.size(); ++length) {
    CAPTURE(length);
    CHECK_THAT(state_error(full.substr(0, length)), StartsWith("state JSON: invalid at offset"));
  }
}

TEST_CASE("NUL bytes outside strings are refused", "[state]") {
  // RapidJSON would otherwise stop at the NUL and accept the document before it.
  std::string json = state_with("");
  json += std::string("\0garbage", 8);
  CHECK(state_error(json) ==
        "state JSON: invalid at offset " + std::to_string(json.size() - 8) + ": NUL byte");
}

TEST_CASE("top level must be an object", "[state]") {
  for (const std::string json : {"[]", R"("c1")", "null", "42", "true", R"([{"id":"c1"}])"}) {
    CAPTURE(json);
    CHECK(state_error(json) == "state JSON: top level must be an object");
  }
}

TEST_CASE("required members", "[state]") {
  CHECK(state_error(R"({"id":"c1","status":"created"})") == R"(state JSON: missing "ociVersion")");
  CHECK(state_error(R"({"ociVersion":"1","status":"created"})") == R"(state JSON: missing "id")");
  CHECK(state_error(R"({"ociVersion":"1","id":"c1"})") == R"(state JSON: missing "status")");
  // Keys are compared with their full length: "id\u0000" is not "id".
  CHECK(state_error(R"({"ociVersion":"1","id\u0000":"c1","status":"created"})") ==
        R"(state JSON: missing "id")");
}

TEST_CASE("members with wrong types", "[state]") {
  CHECK(state_error(R"({"ociVersion":1.0,"id":"c1","status":"created"})") ==
        R"(state JSON: "ociVersion" must be a string)");
  CHECK(state_error(state_with("", "1")) == R"(state JSON: "id" must be a string)");
  CHECK(state_error(state_with("", "null")) == R"(state JSON: "id" must be a string)");
  CHECK(state_error(state_with("", R"(["c1"])")) == R"(state JSON: "id" must be a string)");
  CHECK(state_error(R"({"ociVersion":"1","id":"c1","status":true})") ==
        R"(state JSON: "status" must be a string)");
  CHECK(state_error(state_with(R"("bundle":5)")) == R"(state JSON: "bundle" must be a string)");
  CHECK(state_error(state_with(R"("bundle":null)")) == R"(state JSON: "bundle" must be a string)");
  for (const std::string annotations : {"[]", R"("jail.block-host=true")", "null", "1"}) {
    CAPTURE(annotations);
    CHECK(state_error(state_with(R"("annotations":)" + annotations)) ==
          R"(state JSON: "annotations" must be an object)");
  }
}

TEST_CASE("pid must be a non-negative integer that fits pid_t", "[state]") {
  CHECK(ojh::parse_state(state_with(R"("pid":1)")).pid == 1);
  CHECK(ojh::parse_state(state_with(R"("pid":2147483647)")).pid == 2147483647);
  for (const std::string pid :
       {"-1", "-2147483648", "1.5", "6534.0", "1e3", R"("6534")", "true", "null", "[6534]", "{}"}) {
    CAPTURE(pid);
    CHECK(state_error(state_with(R"("pid":)" + pid)) ==
          R"(state JSON: "pid" must be a non-negative integer)");
  }
  for (const std::string pid : {"2147483648", "1099511627776", "18446744073709551615"}) {
    CAPTURE(pid);
    CHECK(state_error(state_with(R"("pid":)" + pid)) ==
          R"(state JSON: "pid" is larger than 2147483647)");
  }
  CHECK_THAT(state_error(state_with(R"("pid":1e400)")), ContainsSubstring("Number too big"));
}

TEST_CASE("nesting deeper than 32 levels is refused without recursion", "[state]") {
  SECTION("100000 open brackets") {
    CHECK(state_error(std::string(100000, '[')) ==
          "state JSON: nested deeper than 32 levels at offset 32");
  }
  SECTION("100000 nested objects inside an ignored member") {
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += R"({"a":)";
    CHECK_THAT(state_error(state_with(R"("x":)" + deep)),
               StartsWith("state JSON: nested deeper than 32 levels"));
  }
  SECTION("the limit itself") {
    // The state object is level 1, so 31 arrays inside it reach level 32.
    CHECK_NOTHROW(
        ojh::parse_state(state_with(R"("x":)" + std::string(31, '[') + std::string(31, ']'))));
    CHECK_THAT(state_error(state_with(R"("x":)" + std::string(32, '[') + std::string(32, ']'))),
               StartsWith("state JSON: nested deeper than 32 levels"));
  }
}

TEST_CASE("invalid UTF-8 is refused", "[state]") {
  for (const std::string bad : {"\xff", "\xc0\xaf", "\xe2\x82", "\xed\xa0\x80", "a\x80z"}) {
    CAPTURE(bad);
    CHECK_THAT(state_error(state_with(R"("annotations":{"k":")" + bad + "\"}")),
               ContainsSubstring("Invalid encoding in string."));
    CHECK_THAT(state_error(state_with(R"("bundle":")" + bad + "\"")),
               StartsWith("state JSON: invalid at offset"));
  }
  // Escaped and raw multi-byte characters are both fine.
  CHECK(ojh::parse_state(state_with(R"("annotations":{"k":"gr\u00fc\u00df \u2603 )"
                                    "\xf0\x9f\x90\xb3\"}"))
            .annotations.at("k") == "gr\xc3\xbc\xc3\x9f \xe2\x98\x83 \xf0\x9f\x90\xb3");
}

TEST_CASE("duplicate keys are refused", "[state]") {
  CHECK(state_error(R"({"ociVersion":"1","id":"c1","id":"c2","status":"created"})") ==
        R"(state JSON: duplicate key "id")");
  CHECK(state_error(state_with(R"("root":"/a","root":"/b")")) ==
        R"(state JSON: duplicate key "root")");
  CHECK(state_error(state_with(R"("pid":1,"pid":2)")) == R"(state JSON: duplicate key "pid")");
  // One reader could honour "false", another "true".
  CHECK(state_error(state_with(
            R"("annotations":{"jail.block-host":"false","x":"y","jail.block-host":"true"})")) ==
        R"(state JSON: duplicate annotation "jail.block-host")");
  // Keys differing only after an embedded NUL are different keys.
  CHECK(
      ojh::parse_state(state_with(R"("annotations":{"k":"1","k\u0000":"2"})")).annotations.size() ==
      2);
}

TEST_CASE("hostile container ids", "[state]") {
  CHECK(state_error(state_with("", R"("../x")")) ==
        R"(state JSON: container id "../x" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -))");
  CHECK(state_error(state_with("", R"("c1\u0000x")")) ==
        R"(state JSON: container id "c1\x00x" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -))");
  CHECK(state_error(state_with("", R"("a\nb\"c")")) ==
        R"(state JSON: container id "a\x0ab\"c" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -))");
  CHECK(state_error(state_with("", '"' + std::string(300, 'a') + '"')) ==
        "state JSON: container id \"" + std::string(64, 'a') +
            "...\" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)");
  // As JSON string literals.
  for (const std::string id :
       {R"("a/b")", R"("")", R"(".")", R"("..")", R"("c 1")", R"(" c1")", R"("-x")", R"("_x")",
        R"(".hidden")", R"("c1/")", R"("c\\1")", "\"caf\xc3\xa9\"", R"("c1\t")", R"("c1\u002f")"}) {
    CAPTURE(id);
    CHECK_THAT(state_error(state_with("", id)), StartsWith("state JSON: container id \""));
  }
}

TEST_CASE("is_valid_container_id", "[state]") {
  CHECK(ojh::is_valid_container_id("c1"));
  CHECK(ojh::is_valid_container_id("C"));
  CHECK(ojh::is_valid_container_id("0"));
  CHECK(ojh::is_valid_container_id("a.b+c_d-e"));
  CHECK(ojh::is_valid_container_id(
      "4b1c9ad0e8d4a7f5b2c3d6e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3"));
  CHECK(ojh::is_valid_container_id(std::string(128, 'x')));
  CHECK_FALSE(ojh::is_valid_container_id(std::string(129, 'x')));
  CHECK_FALSE(ojh::is_valid_container_id(""));
  CHECK_FALSE(ojh::is_valid_container_id("."));
  CHECK_FALSE(ojh::is_valid_container_id(".."));
  CHECK_FALSE(ojh::is_valid_container_id("../x"));
  CHECK_FALSE(ojh::is_valid_container_id("a/b"));
  CHECK_FALSE(ojh::is_valid_container_id("a b"));
  CHECK_FALSE(ojh::is_valid_container_id("+a"));
  CHECK_FALSE(ojh::is_valid_container_id(std::string_view("a\0b", 3)));
  CHECK_FALSE(ojh::is_valid_container_id("a:b"));
  CHECK_FALSE(ojh::is_valid_container_id("a*"));
}

TEST_CASE("annotation values and bounds", "[state]") {
  for (const std::string value : {"1", "true", "null", "{}", R"(["true"])"}) {
    CAPTURE(value);
    CHECK(state_error(state_with(R"("annotations":{"a":"b","jail.block-host":)" + value + "}")) ==
          R"(state JSON: annotation "jail.block-host" must be a string)");
  }
  auto many = [](std::size_t count) {
    return state_with(R"("annotations":{)" + annotation_members(count) + "}");
  };
  CHECK(ojh::parse_state(many(4096)).annotations.size() == 4096);
  CHECK(state_error(many(4097)) == "state JSON: more than 4096 annotations");

  const std::string key512(512, 'k');
  CHECK(ojh::parse_state(state_with(R"("annotations":{")" + key512 + R"(":"v"})"))
            .annotations.count(key512) == 1);
  CHECK(state_error(state_with(R"("annotations":{")" + key512 + R"(k":"v"})")) ==
        "state JSON: annotation key \"" + std::string(64, 'k') + "...\" is longer than 512 bytes");

  // Our own namespace is held tight; other tools' values (CRI-O, kubectl) may be large.
  const std::string value4096(4096, 'v');
  CHECK(ojh::parse_state(state_with(R"("annotations":{"jail.x":")" + value4096 + R"("})"))
            .annotations.at("jail.x") == value4096);
  CHECK(state_error(state_with(R"("annotations":{"jail.x":")" + value4096 + R"(v"})")) ==
        R"(state JSON: annotation "jail.x" is longer than 4096 bytes)");
  const std::string big(256 * 1024, 'v');
  CHECK(ojh::parse_state(
            state_with(R"("annotations":{"kubectl.kubernetes.io/last-applied-configuration":")" +
                       big + R"("})"))
            .annotations.size() == 1);
}

TEST_CASE("the state is read from a pipe to EOF", "[state]") {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  const std::string json = kRuncState;
  REQUIRE(write(fds[1], json.data(), json.size()) == static_cast<ssize_t>(json.size()));
  close(fds[1]);
  const ojh::State s = ojh::parse_state(ojh::read_state_text(fds[0]));
  close(fds[0]);
  CHECK(s.id == "c1");
  CHECK(s.pid == 6534);
}

TEST_CASE("the state read is bounded to kMaxStateBytes", "[state]") {
  SECTION("exactly the limit") {
    std::string json = state_with("");
    json += std::string(ojh::kMaxStateBytes - json.size(), ' ');
    const int fd = memfd_with(json);
    CHECK(ojh::parse_state(ojh::read_state_text(fd)).id == "c1");
    close(fd);
  }
  SECTION("one byte more") {
    std::string json = state_with("");
    json += std::string(ojh::kMaxStateBytes + 1 - json.size(), ' ');
    const int fd = memfd_with(json);
    CHECK(std::string(error_of([&] { ojh::parse_state(ojh::read_state_text(fd)); }).what()) ==
          "state JSON larger than 4194304 bytes");
    close(fd);
  }
  SECTION("five megabytes of annotations") {
    const std::string big(1024 * 1024, 'v');
    std::string members;
    for (int i = 0; i < 5; ++i)
      members += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"" + big + "\"";
    const int fd = memfd_with(state_with(R"("annotations":{)" + members + "}"));
    CHECK(std::string(error_of([&] { ojh::parse_state(ojh::read_state_text(fd)); }).what()) ==
          "state JSON larger than 4194304 bytes");
    close(fd);
  }
  SECTION("read errors carry errno") {
    const ojh::Error e = error_of([] { ojh::read_state_text(-1); });
    CHECK(e.code() == EBADF);
    CHECK(e.context() == "read state JSON");
  }
}

TEST_CASE("quote_untrusted", "[state]") {
  CHECK(ojh::quote_untrusted("c1") == R"("c1")");
  CHECK(ojh::quote_untrusted("") == R"("")");
  CHECK(ojh::quote_untrusted("a\"b\\c") == R"("a\"b\\c")");
  CHECK(ojh::quote_untrusted(std::string_view("\0\n\x1b\x7f\xff", 5)) ==
        R"("\x00\x0a\x1b\x7f\xff")");
  CHECK(ojh::quote_untrusted(std::string(64, 'x')) == '"' + std::string(64, 'x') + '"');
  CHECK(ojh::quote_untrusted(std::string(65, 'x')) == '"' + std::string(64, 'x') + "...\"");
  CHECK(ojh::escape_untrusted("a b") == "a b");
}

TEST_CASE("read_file_bounded", "[file]") {
  TempDir dir;
  dir.write("f", "0123456789");
  const std::string path = dir.path + "/f";
  CHECK(ojh::read_file_bounded(path, 10) == "0123456789");
  CHECK(std::string(error_of([&] { ojh::read_file_bounded(path, 9); }).what()) ==
        path + " larger than 9 bytes");
  dir.write("empty", "");
  CHECK(ojh::read_file_bounded(dir.path + "/empty", 0).empty());

  const ojh::Error missing = error_of([&] { ojh::read_file_bounded(path + "x", 10); });
  CHECK(missing.code() == ENOENT);
  CHECK(missing.context() == "read " + path + "x");
  CHECK(std::string(missing.what()) == "read " + path + "x: No such file or directory");

  const ojh::Error directory = error_of([&] { ojh::read_file_bounded(dir.path, 10); });
  CHECK(directory.code() == EISDIR);

  // /proc files report size 0; reading must not rely on st_size.
  CHECK_THAT(ojh::read_file_bounded("/proc/self/cgroup", 64 * 1024), ContainsSubstring("::"));
}

TEST_CASE("runc config.json", "[config]") {
  const ojh::BundleConfig c = ojh::parse_bundle_config(ojh::unit::fixture("config-runc.json"));
  CHECK(c.annotations == ojh::Annotations{{"jail.block-host", "true"},
                                          {"org.opencontainers.image.ref.name", "busybox"}});
}

TEST_CASE("config.json namespaces", "[config]") {
  auto config = [](const std::string& namespaces) {
    return ojh::parse_bundle_config(R"({"ociVersion":"1.0.2","linux":{"namespaces":)" + namespaces +
                                    "}}");
  };
  SECTION("a new network namespace, one joined, the host's") {
    CHECK_FALSE(
        config(R"([{"type":"pid"},{"type":"network"},{"type":"mount"}])").has_cgroup_namespace);
    CHECK_NOTHROW(config(R"([{"type":"network","path":"/var/run/netns/ct"}])"));
    CHECK_NOTHROW(config(R"([{"type":"pid"},{"type":"ipc"},{"type":"mount"}])"));
    CHECK(config(R"([{"type":"cgroup"}])").has_cgroup_namespace);
  }
  SECTION("malformed entries") {
    auto error = [&](const std::string& namespaces) {
      return std::string(error_of([&] { config(namespaces); }).what());
    };
    CHECK(error(R"({"type":"network"})") == R"(config.json: "linux.namespaces" must be an array)");
    CHECK(error(R"(["network"])") == R"(config.json: "linux.namespaces" entries must be objects)");
    CHECK(error(R"([{"path":"/x"}])") ==
          R"(config.json: "linux.namespaces" entry without a string "type")");
    CHECK(error(R"([{"type":5}])") ==
          R"(config.json: "linux.namespaces" entry without a string "type")");
    CHECK(error(R"([{"type":"network","path":1}])") ==
          R"(config.json: "linux.namespaces[].path" must be a string)");
    CHECK(error(R"([{"type":"user","path":["/proc/1/ns/user"]}])") ==
          R"(config.json: "linux.namespaces[].path" must be a string)");
    CHECK(error(R"([{"type":"network"},{"type":"network","path":"/x"}])") ==
          R"(config.json: more than one "network" namespace)");
    CHECK(error(R"([{"type":"network","path":"/a","path":"/b"}])") ==
          R"(config.json: duplicate key "linux.namespaces[].path")");
  }
}

TEST_CASE("config.json without linux section", "[config]") {
  const auto c = ojh::parse_bundle_config(R"({"ociVersion":"1.0.2","process":{"args":["sh"]}})");
  CHECK_FALSE(c.has_cgroup_namespace);
  CHECK(c.cgroup_mounts.empty());
  CHECK(c.annotations.empty());
}

TEST_CASE("malformed config.json", "[config]") {
  auto error = [](const std::string& json) {
    return std::string(error_of([&] { ojh::parse_bundle_config(json); }).what());
  };
  CHECK(error("[]") == "config.json: top level must be an object");
  CHECK_THAT(error(R"({"linux":)"), StartsWith("config.json: invalid at offset 9: "));
  CHECK(error(R"({"linux":[]})") == R"(config.json: "linux" must be an object)");
  CHECK(error(R"({"linux":{"cgroupsPath":5}})") ==
        R"(config.json: "linux.cgroupsPath" must be a string)");
  CHECK(error(R"({"linux":{"cgroupsPath":"/a","cgroupsPath":"/b"}})") ==
        R"(config.json: duplicate key "linux.cgroupsPath")");
  CHECK(error(R"({"linux":{},"linux":{}})") == R"(config.json: duplicate key "linux")");
  CHECK(error(R"({"annotations":{"jail.block-host":true}})") ==
        R"(config.json: annotation "jail.block-host" must be a string)");
  CHECK(error(R"({"annotations":{"a":"1","a":"2"}})") ==
        R"(config.json: duplicate annotation "a")");
  CHECK_THAT(error(R"({"x":)" + std::string(65, '[') + std::string(65, ']') + "}"),
             StartsWith("config.json: nested deeper than 64 levels"));
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += R"({"a":)";
  CHECK_THAT(error(deep), StartsWith("config.json: nested deeper than 64"));
}

TEST_CASE("config.json tells where the container's resolv.conf comes from", "[config]") {
  const auto cfg = ojh::parse_bundle_config(R"({"root":{"path":"rootfs"},"mounts":[
      {"destination":"/proc","type":"proc","source":"proc"},
      {"destination":"/etc/resolv.conf","type":"bind","source":"/run/a/resolv.conf"},
      {"destination":"/etc/resolv.conf","type":"bind","source":"/run/b/resolv.conf"}]})");
  CHECK(cfg.root_path == "rootfs");
  CHECK(cfg.resolv_conf_source == "/run/b/resolv.conf");  // the later mount covers the earlier
  CHECK(ojh::container_root_dir(cfg, "/bundle") == "/bundle/rootfs");
  const auto absolute = ojh::parse_bundle_config(R"({"root":{"path":"/var/lib/x/merged"}})");
  CHECK(ojh::container_root_dir(absolute, "/bundle") == "/var/lib/x/merged");
  CHECK_FALSE(ojh::parse_bundle_config("{}").resolv_conf_source);
  CHECK_FALSE(ojh::container_root_dir(ojh::parse_bundle_config("{}"), "/b"));
  CHECK_THROWS_WITH(ojh::parse_bundle_config(R"({"mounts":[{"destination":"/etc/resolv.conf"}]})"),
                    "config.json: mount of /etc/resolv.conf without a string \"source\"");
  CHECK_THROWS_WITH(ojh::parse_bundle_config(R"({"root":{"path":7}})"),
                    "config.json: \"root.path\" must be a string");
}

TEST_CASE("strings whose escapes decode to something other than UTF-8 are refused", "[state]") {
  const auto with_value = [](const std::string& escaped) {
    return R"({"ociVersion":"1.0.2","id":"c1","status":"creating","annotations":{"a":")" + escaped +
           R"("}})";
  };
  // A lone low surrogate, a high surrogate at the end: RapidJSON's own check sees only the
  // raw text, where both are plain ASCII.
  CHECK_THROWS_WITH(ojh::parse_state(with_value("\\uDDDD")),
                    Catch::Matchers::ContainsSubstring("lone UTF-16 surrogate"));
  CHECK_THROWS(ojh::parse_state(with_value("x\\uD800")));
  // A surrogate pair, and characters up to U+10FFFF, are fine.
  CHECK(ojh::parse_state(with_value("\\uD83D\\uDE00")).annotations.at("a") == "\xF0\x9F\x98\x80");
  CHECK(ojh::parse_state(with_value("\\u00e9\\uFFFD")).annotations.at("a") ==
        "\xC3\xA9\xEF\xBF\xBD");
}
