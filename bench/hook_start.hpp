// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace ojh::bench {

// The start cost of the hook binary itself: a createRuntime that has nothing to enforce (a
// state without the annotation: read, parsed, done), so what is measured is what every run
// pays before it does anything, exec and dynamic linking first. The installed hook (its
// libraries linked statically, cmake/SystemLibraries.cmake) against the same code linked to
// the shared libraries, and /bin/true as the floor of any exec, interleaved.
struct HookStartOptions {
  std::string hook;         // the installed hook
  std::string shared_hook;  // the same hook linked to shared libraries
  int runs = 400;           // measured runs of each
  int warmup = 20;
};

int run_hook_start_row(const HookStartOptions& options);

}  // namespace ojh::bench
