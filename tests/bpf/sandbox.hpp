// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "hook/fd.hpp"

namespace ojh::test {

// Empty when the tier can run; otherwise why not (not root, no cgroup2, no bpffs...).
std::string why_unsupported();

// A cgroup subtree and a bpffs of the test's own: every attach in this tier targets a
// cgroup below `root()`, never the real root or a cgroup the test did not create.
class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  std::string make_cgroup(const std::string& rel);  // returns the fs path
  const std::string& root() const { return root_; }
  const std::string& pin_dir() const { return pin_dir_; }

 private:
  std::string root_;
  std::string bpffs_;
  std::string pin_dir_;
};

// Runs `fn` in a child process placed in `cgroup_fs_path` (and in a new netns with lo up
// when `own_netns`); returns the child's exit status (fn's return value).
int run_in_cgroup(const std::string& cgroup_fs_path, bool own_netns,
                  const std::function<int()>& fn);

// Socket probes for use inside run_in_cgroup: 0 when reached, else the errno.
int tcp_connect(const char* addr, int port);
int udp_connect_send(const char* addr, int port);
int udp_sendto(const char* addr, int port);

// A loopback listener in the caller's netns on an ephemeral port.
struct Listener {
  Fd tcp;
  Fd udp;
  int port = 0;
  bool v6 = false;
  static Listener open(const char* addr);
  bool udp_received();  // drains: did any datagram arrive since the last call?
};

}  // namespace ojh::test

namespace ojh::test {
// A UDP datagram sent through a raw socket (IPPROTO_UDP, header built here): no sock_addr
// hook sees it, only the egress backstop. 0 when sent, else the errno.
int raw_udp_sendto(const char* addr, int port);
}  // namespace ojh::test
