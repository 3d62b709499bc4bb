// SPDX-License-Identifier: Apache-2.0
// The pin directory on a host where bpffs is not mounted yet: a runtime that starts many
// containers at once on a fresh boot runs as many hooks at once, and each may find no bpffs.
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hook/fd.hpp"
#include "hook/pin_dir.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/sandbox.hpp"

using namespace ojh;
using namespace ojh::test;

namespace {

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// bpffs mounts on `mount_point` in this thread's mount namespace (mountinfo: the fifth field
// is the mount point, the file system type follows the "-" separator; spaces in paths are
// escaped).
std::size_t bpffs_mounts_on(const std::string& mount_point) {
  std::ifstream mountinfo("/proc/thread-self/mountinfo");
  std::size_t n = 0;
  for (std::string line; std::getline(mountinfo, line);) {
    std::istringstream in(line);
    std::vector<std::string> fields;
    for (std::string field; in >> field;) fields.push_back(field);
    const auto separator = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() > 4 && fields[4] == mount_point && separator != fields.end() &&
        separator + 1 != fields.end() && separator[1] == "bpf")
      ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("hooks that find no bpffs at the same moment mount one, not a stack of them",
          "[bpf][pin_dir]") {
  Sandbox sandbox{"pin-dir"};
  const std::string mount_point = parent_of(sandbox.pin_dir());
  constexpr int kRounds = 20;
  constexpr int kHooks = 16;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    REQUIRE(bpffs_mounts_on(mount_point) == 0);
    // The children share this mount namespace; all of them wait on one pipe, which closing
    // its write end releases at once.
    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    Fd release(gate[1]);
    std::vector<pid_t> hooks;
    for (int i = 0; i < kHooks; ++i) {
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        ::close(gate[1]);
        char byte;
        (void)!::read(gate[0], &byte, 1);
        try {
          PinDir::open(sandbox.pin_dir());
          ::_exit(0);
        } catch (...) {
          ::_exit(1);
        }
      }
      hooks.push_back(pid);
    }
    ::close(gate[0]);
    release.reset();
    int failed = 0;
    for (const pid_t pid : hooks) failed += wait_exit_status(pid) != 0;
    CHECK(failed == 0);
    CHECK(bpffs_mounts_on(mount_point) == 1);
    while (bpffs_mounts_on(mount_point) > 0) REQUIRE(::umount2(mount_point.c_str(), 0) == 0);
  }
}
