// SPDX-License-Identifier: Apache-2.0
// Which resolv.conf files the hook reads for DNS exceptions (hook/dns.cpp): regular files
// only, never through a symlink in the bind-mount source's last component, and never a FIFO
// or device, whose open or read could block the hook (and the container start) forever.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "hook/dns.hpp"
#include "tests/support/catch.hpp"

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ojh-dns-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

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
