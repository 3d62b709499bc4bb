// SPDX-License-Identifier: Apache-2.0
// Real sockets that the programs judge (the kernel has no BPF_PROG_TEST_RUN for sock_addr
// programs): probes to run in a sandboxed cgroup, and listeners that tell what arrived.
#pragma once

#include "hook/fd.hpp"

namespace ojh::test {

// Socket probes for use inside run_in_cgroup: 0 when reached, else the errno.
int tcp_connect(const char* addr, int port);
int udp_connect_send(const char* addr, int port);
int udp_sendto(const char* addr, int port);
// A TCP connect that gives up after `timeout_ms`: a SYN dropped at egress (cgroup_skb) is not
// an error for connect(), which would retransmit for minutes. ETIMEDOUT when it gave up.
int tcp_connect_within(const char* addr, int port, int timeout_ms);
// A UDP datagram sent through a raw socket (IPPROTO_UDP, header built here): no sock_addr
// hook sees it, only the egress backstop. 0 when sent, else the errno.
int raw_udp_sendto(const char* addr, int port);

// A loopback listener in the caller's netns on an ephemeral port.
struct Listener {
  Fd tcp;
  Fd udp;
  int port = 0;
  bool v6 = false;
  static Listener open(const char* addr);
  bool udp_received();  // drains: did any datagram arrive since the last call?
  bool tcp_accepted();  // drains: did any connection complete since the last call?
};

}  // namespace ojh::test
