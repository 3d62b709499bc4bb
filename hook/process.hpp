// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hook/fd.hpp"

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

// A pidfd names one process for as long as the descriptor is held: unlike a pid, it never
// comes to name another. What the attach service receives from a rootless hook.
Fd open_pidfd(pid_t pid);

// The pid of a /proc/self/fdinfo/<pidfd> text ("Pid:\t<n>"), in the reader's pid
// namespace; nullopt when it has none (not a pidfd), or when the process has exited (-1)
// or lives in a pid namespace the reader cannot see (0).
std::optional<pid_t> parse_pidfd_fdinfo(std::string_view fdinfo);

// The pid of the process behind `pidfd`; ojh::Error when the descriptor is not a pidfd or
// the process has exited.
pid_t pidfd_pid(int pidfd);

// Whether the process behind `pidfd` has exited (the pidfd polls readable): checked after
// reading /proc/<pid>/..., so that what was read is known to be that process's.
bool pidfd_exited(int pidfd);

}  // namespace ojh
