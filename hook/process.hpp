// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ojh {

// One process for as long as it lives: a pid alone may name another process once the first
// is gone, the start time (clock ticks since boot) tells the two apart.
struct ProcessRef {
  pid_t pid = 0;  // 0: not known
  std::uint64_t start_time = 0;

  bool operator==(const ProcessRef&) const = default;
};

// State (field 3) and start time (field 22) of a /proc/<pid>/stat text; nullopt when the
// text is not one. The command name (field 2) may hold spaces and parentheses, so fields
// are counted from its last ')'.
struct ProcStat {
  char state = 0;
  std::uint64_t start_time = 0;
};
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// The process `pid` while it runs; nullopt when there is none or only its zombie is left
// (a container's init that exited but was not reaped yet has stopped all the same).
std::optional<ProcessRef> running_process(pid_t pid);

// Whether that very process still runs (same pid, same start time, not a zombie).
bool still_running(const ProcessRef& process);

// "<pid>:<start time>", as a pin entry records it; parse_process_ref is its inverse.
std::string format_process_ref(const ProcessRef& process);
std::optional<ProcessRef> parse_process_ref(std::string_view text);

}  // namespace ojh
