// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace ojh::bench {

// The per-operation rows of ISSUE 4: the same socket operation timed in an enforced
// cgroup and in an unenforced sibling, alternating blocks on one CPU.
struct SocketRowsOptions {
  std::vector<std::string> rows;  // empty: all of kSocketRows
  int blocks = 101;               // measured blocks per worker
  int warmup = 5;                 // blocks per worker run first and discarded
  double scale = 1.0;             // multiplies the operations per block (run.sh --quick)
  int cpu = -1;                   // CPU of every worker; -1: the last allowed CPU
  int extra_cidrs = 10000;
  bool wall_clock = false;  // compare wall time instead of the workers' CPU time
};

inline const std::vector<std::string> kSocketRows = {
    "udp-connect",           "tcp-connect",     "udp-flood",
    "udp-sendto-flood",      "raw-flood",       "judge-all-udp-flood",
    "judge-all-tcp-connect", "nft-tcp-connect", "nft-udp-flood",
    "denied-connect-flood"};

int run_socket_rows(const SocketRowsOptions& options);

}  // namespace ojh::bench
