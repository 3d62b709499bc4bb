// SPDX-License-Identifier: Apache-2.0
// restrict_capabilities (hook/capabilities.cpp) fails closed: when the kernel does not tell
// it which capabilities the hook holds, it cannot know what it drops or whether it may cut
// the bounding set, so it stops with one line instead of going on with a guess.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "hook/capabilities.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"

namespace {

// In a child: capget() fails with EPERM (a seccomp filter), then restrict_capabilities runs.
// Exit 0: it threw an Error naming the capability read; 1: it returned; 2: another error.
int restrict_without_capget(ojh::CapabilitySet set) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_capget, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      _exit(3);
    try {
      ojh::restrict_capabilities(set);
    } catch (const ojh::Error& e) {
      std::fprintf(stderr, "restrict_capabilities: %s\n", e.what());
      _exit(std::string(e.what()).find("read the hook's capabilities") != std::string::npos ? 0
                                                                                            : 2);
    }
    _exit(1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("capabilities that cannot be read stop the hook", "[capabilities]") {
  CHECK(restrict_without_capget(ojh::CapabilitySet::kNone) == 0);
  CHECK(restrict_without_capget(ojh::CapabilitySet::kAttachMounted) == 0);
  CHECK(restrict_without_capget(ojh::CapabilitySet::kAttach) == 0);
}
