// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace ojh::bench {

// The installed hook run for `count` containers (a cgroup with a sleeping process each),
// as runc would run it, then poststop for every one: hook time against the number of
// enforced containers, kernel memory per container, and a leak check after poststop.
struct HookScaleOptions {
  std::string hook;  // path of the installed oci-jail-hook binary
  int count = 1000;
  int window = 11;    // containers per "Nth container" sample (median of the window)
  int warmup = 3;     // containers enforced and released before the measured ones
  int pairs = 31;     // interleaved runs with all `count` enforced and with none, each
  std::string memcg;  // optional memory cgroup directory (v1) the hook processes join
};

int run_hook_scale(const HookScaleOptions& options);

}  // namespace ojh::bench
