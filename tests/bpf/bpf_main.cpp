// SPDX-License-Identifier: Apache-2.0
// Privileged tier: real kernel, real sockets, a cgroup tree and bpffs made by the test.
// Exits 77 (ctest SKIPPED) with the reason when the machine cannot run it.
#define OJH_CATCH_SESSION
#include <unistd.h>

#include <cstdio>

#include "tests/support/catch.hpp"
#include "tests/support/sandbox.hpp"

int main(int argc, char** argv) {
  if (const std::string why = ojh::test::why_unsupported(); !why.empty()) {
    std::printf("SKIPPED: bpf tier: %s\n", why.c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
