// SPDX-License-Identifier: Apache-2.0
#include "hook/phase_timer.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ojh {

PhaseTimer& PhaseTimer::instance() {
  static PhaseTimer timer;
  return timer;
}

void PhaseTimer::mark(const char* name) {
  // Fault injection for the crash-safety tests (tests/e2e/test_faults.sh): the hook dies as
  // a SIGKILL from the runtime's timeout would, right after the named phase.
  if (const char* kill_at = std::getenv("OJH_FAULT_KILL_AT");
      kill_at && std::strcmp(kill_at, name) == 0)
    ::raise(SIGKILL);
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
