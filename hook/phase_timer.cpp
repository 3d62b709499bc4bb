// SPDX-License-Identifier: Apache-2.0
#include "hook/phase_timer.hpp"

#include <cstdio>

namespace ojh {

PhaseTimer& PhaseTimer::instance() {
  static PhaseTimer timer;
  return timer;
}

void PhaseTimer::mark(const char* name) {
  if (observer_) observer_(name);
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  phases_.emplace_back(name, std::chrono::duration<double, std::micro>(now - last_).count());
  last_ = now;
}

void PhaseTimer::report() const {
  if (!enabled_) return;
  double total = 0;
  std::fprintf(stderr, "oci-jail-hook: timing");
  for (const auto& [name, us] : phases_) {
    std::fprintf(stderr, " %s=%.0fus", name, us);
    total += us;
  }
  std::fprintf(stderr, " total=%.0fus\n", total);
}

}  // namespace ojh
