// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace ojh {

// Per-phase wall-clock timing of one hook run (--timing), so the slow phase of a container
// start is visible without a profiler. Printed as one line on stderr.
class PhaseTimer {
 public:
  using Observer = void (*)(const char* name);

  static PhaseTimer& instance();
  void enable() { enabled_ = true; }
  // Closes the phase that began at the previous mark (or at start) under `name`.
  void mark(const char* name);
  void report() const;
  // Called with each phase name as it ends. Only the test build oci-jail-hook-faults sets
  // one (hook/fault_injection.cpp); the installed binary has no code that does.
  void set_observer(Observer observer) { observer_ = observer; }

 private:
  bool enabled_ = false;
  Observer observer_ = nullptr;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::vector<std::pair<const char*, double>> phases_;
};

inline void phase(const char* name) { PhaseTimer::instance().mark(name); }

}  // namespace ojh
