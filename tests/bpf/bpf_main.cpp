// SPDX-License-Identifier: Apache-2.0
// Privileged tier: real kernel, real sockets, a cgroup tree and bpffs made by the test.
// Exits 77 (ctest SKIPPED) with the reason when the machine cannot run it.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "tests/bpf/sandbox.hpp"

int main(int argc, char** argv) {
  if (const std::string why = ojh::test::why_unsupported(); !why.empty()) {
    std::printf("SKIPPED: bpf tier: %s\n", why.c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
