// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace ojh::bench {

struct ExecResult {
  double wall_us = 0;  // from right before execve in the child until the parent reaped it
  double cpu_us = 0;   // user + system time of the child and of the children it waited for
  int status = 0;      // exit status, or 128 + signal
  std::string stderr_text;
};

// Runs programs the way a runtime runs a hook: stdin from a string, stderr captured. The
// clock starts in the child just before execve, so the bench's own fork (a copy of a
// process that may hold a thousand children) is not counted.
class TimedExec {
 public:
  TimedExec();
  ~TimedExec();
  TimedExec(const TimedExec&) = delete;
  TimedExec& operator=(const TimedExec&) = delete;

  // `join_procs`: a cgroup.procs file the child moves itself into before execve ("" = none).
  ExecResult run(const std::vector<std::string>& argv, const std::string& stdin_text,
                 const std::string& join_procs = "");

 private:
  double* exec_start_us_ = nullptr;  // shared with the child
};

}  // namespace ojh::bench
