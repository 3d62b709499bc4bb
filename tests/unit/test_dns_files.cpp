// SPDX-License-Identifier: Apache-2.0
// Which files a runtime names that the hook reads (hook/regular_file.hpp): the resolv.conf of
// DNS exceptions (hook/dns.cpp) and the bundle's config.json. Regular files only, never
// through a symlink in the last component, and never a FIFO or device, whose open or read
// could block the hook (and the container start) forever.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "hook/dns.hpp"
#include "hook/regular_file.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/unit_support.hpp"

namespace {

using ojh::unit::TempDir;

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// dns_exceptions in a child, so that a hang fails the test after 5 s instead of blocking
// the suite. Returns the number of exceptions, or -1 when the child had to be killed.
int exceptions_within_5s(const ojh::BundleConfig& config, const std::string& bundle) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(static_cast<int>(ojh::dns_exceptions(config, bundle).size()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

}  // namespace

TEST_CASE("the resolv.conf bind-mount source is read only when it is a regular file", "[dns]") {
  TempDir dir;
  write(dir.path + "/resolv.conf", "nameserver 192.0.2.53\n");
  ojh::BundleConfig config;

  SECTION("a regular file: TCP and UDP port 53 of its nameserver") {
    config.resolv_conf_source = dir.path + "/resolv.conf";
    CHECK(exceptions_within_5s(config, dir.path) == 2);
  }
  SECTION("a FIFO: no exception, and the hook does not wait for a writer") {
    REQUIRE(::mkfifo((dir.path + "/fifo").c_str(), 0600) == 0);
    config.resolv_conf_source = dir.path + "/fifo";
    CHECK(exceptions_within_5s(config, dir.path) == 0);
  }
  SECTION("a symlink, even to a regular file: not followed, no exception") {
    REQUIRE(::symlink((dir.path + "/resolv.conf").c_str(), (dir.path + "/link").c_str()) == 0);
    config.resolv_conf_source = dir.path + "/link";
    CHECK(exceptions_within_5s(config, dir.path) == 0);
  }
  SECTION("a character device: no exception") {
    config.resolv_conf_source = "/dev/zero";
    CHECK(exceptions_within_5s(config, dir.path) == 0);
  }
}

TEST_CASE("the rootfs's etc/resolv.conf is read only when it is a regular file", "[dns]") {
  TempDir dir;
  REQUIRE(::mkdir((dir.path + "/rootfs").c_str(), 0755) == 0);
  REQUIRE(::mkdir((dir.path + "/rootfs/etc").c_str(), 0755) == 0);
  REQUIRE(::mkdir((dir.path + "/rootfs/run").c_str(), 0755) == 0);
  const std::string resolv = dir.path + "/rootfs/etc/resolv.conf";
  ojh::BundleConfig config;
  config.root_path = "rootfs";

  SECTION("a FIFO written by the image: no exception, no hang") {
    REQUIRE(::mkfifo(resolv.c_str(), 0600) == 0);
    CHECK(exceptions_within_5s(config, dir.path) == 0);
  }
  SECTION("a symlink that stays in the rootfs is still followed there") {
    write(dir.path + "/rootfs/run/resolv.conf", "nameserver 192.0.2.53\n");
    REQUIRE(::symlink("../run/resolv.conf", resolv.c_str()) == 0);
    CHECK(exceptions_within_5s(config, dir.path) == 2);
  }
  SECTION("a symlink to a FIFO in the rootfs: no exception, no hang") {
    REQUIRE(::mkfifo((dir.path + "/rootfs/run/fifo").c_str(), 0600) == 0);
    REQUIRE(::symlink("/run/fifo", resolv.c_str()) == 0);
    CHECK(exceptions_within_5s(config, dir.path) == 0);
  }
}

TEST_CASE("the bundle's config.json is read as a file the runtime names", "[config]") {
  TempDir bundle;
  const std::string config = bundle.path + "/config.json";
  // The bundle as the state names it; a section may change it, never bundle.path (whose
  // directory the TempDir removes at the end).
  std::string named = bundle.path;
  const auto error = [&](std::optional<uid_t> owner = std::nullopt) -> std::string {
    try {
      ojh::read_bundle_config(named, owner);
    } catch (const ojh::Error& e) {
      return e.what();
    }
    return "no error";
  };

  SECTION("a regular file is parsed") {
    write(config, R"({"linux":{"cgroupsPath":"/c1"},"annotations":{"k":"v"}})");
    const ojh::BundleConfig c = ojh::read_bundle_config(bundle.path);
    CHECK(c.annotations.at("k") == "v");
  }
  SECTION("missing") { CHECK(error() == "open " + config + ": No such file or directory"); }
  SECTION("no bundle, or a relative one") {
    named = "";
    CHECK(error() == "the state's bundle must be an absolute path");
    named = "bundle";
    CHECK(error() == "the state's bundle must be an absolute path");
  }
  SECTION("a symlink to another file is not followed") {
    write(bundle.path + "/elsewhere.json", "{}");
    REQUIRE(::symlink("elsewhere.json", config.c_str()) == 0);
    CHECK(error() == config + " is not a regular file");
  }
  SECTION("a FIFO is not opened") {
    REQUIRE(::mkfifo(config.c_str(), 0600) == 0);
    CHECK(error() == config + " is not a regular file");
  }
  SECTION("another user's file, when the reader acts for a user") {
    write(config, "{}");
    CHECK(error(::getuid() + 1) == config + " belongs to uid " + std::to_string(::getuid()) +
                                       ", not to uid " + std::to_string(::getuid() + 1));
  }
  SECTION("larger than 4 MiB") {
    write(config, "{}" + std::string(ojh::kMaxConfigBytes - 1, ' '));
    CHECK_THAT(error(), Catch::Matchers::ContainsSubstring("larger than 4194304 bytes"));
  }
}
