// SPDX-License-Identifier: Apache-2.0
// The lsm_cgroup/socket_create program against real sockets in a test cgroup: only where the
// BPF LSM is active and the kernel loaded the program (the VM tier's guest); elsewhere the
// objects carry no such program and the test says why it skipped.
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "hook/enforcement.hpp"
#include "hook/pin_dir.hpp"
#include "hook/shared_objects.hpp"
#include "tests/bpf/probes.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/sandbox.hpp"

using namespace ojh;
using namespace ojh::test;

namespace {

// 0 when the socket could be made, else the errno.
int make_socket(int family, int type, int protocol) {
  const int fd = ::socket(family, type, protocol);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

}  // namespace

TEST_CASE("packet and raw sockets are refused in an enforced cgroup where the BPF LSM is active",
          "[bpf][lsm]") {
  Sandbox sandbox{"rawsock"};
  const PinDir pins = PinDir::open(sandbox.pin_dir());
  const SharedObjects objs = SharedObjects::open_or_load(pins);
  if (!objs.refuses_raw_sockets()) {
    WARN("skipped: no socket_create program on this kernel: " << objs.why_not(KernelNeed::BpfLsm));
    CHECK_FALSE(objs.why_not(KernelNeed::BpfLsm).empty());
    return;
  }
  const std::string ctr = sandbox.make_cgroup("ctr");
  const std::string sub = sandbox.make_cgroup("ctr/sub");
  EnforceRequest r;
  r.container_id = "raw";
  r.cgroup_fs_path = ctr;
  r.host_netns_cookie = current_netns_cookie();
  SECTION("enforce") {}
  SECTION("audit") { r.audit = true; }
  enforce(pins, objs, r);
  const int refused = r.audit ? 0 : EPERM;
  const auto in = [&](const std::string& cg, int family, int type, int protocol) {
    return run_in_cgroup(cg, false, [=] { return make_socket(family, type, protocol); });
  };
  CHECK(in(ctr, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) == refused);
  CHECK(in(ctr, AF_PACKET, SOCK_DGRAM, 0) == refused);
  CHECK(in(sub, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0) == refused);  // sub-cgroups too
  CHECK(in(ctr, AF_INET, SOCK_RAW, IPPROTO_ICMP) == refused);
  CHECK(in(ctr, AF_INET, SOCK_RAW, IPPROTO_RAW) == refused);
  CHECK(in(ctr, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) == refused);
  CHECK(in(ctr, AF_INET, SOCK_PACKET, htons(ETH_P_ALL)) == refused);
  // What stays: TCP, UDP, Unix, netlink, and ICMP datagram (ping) sockets, which the egress
  // backstop judges per packet (EACCES there only means ping_group_range leaves root out).
  CHECK(in(ctr, AF_INET, SOCK_STREAM, 0) == 0);
  CHECK(in(ctr, AF_INET6, SOCK_DGRAM, 0) == 0);
  CHECK(in(ctr, AF_UNIX, SOCK_STREAM, 0) == 0);
  CHECK(in(ctr, AF_NETLINK, SOCK_RAW, 0) == 0);
  CHECK(in(ctr, AF_INET, SOCK_DGRAM, IPPROTO_ICMP) != EPERM);
  // Outside the container nothing changes.
  CHECK(run_in_cgroup(sandbox.make_cgroup("other"), false,
                      [] { return make_socket(AF_PACKET, SOCK_RAW, 0); }) == 0);

  const auto c = list_enforced(pins, objs).at(0);
  CHECK(c.links.size() == objs.loaded_count());
  const auto& counted = r.audit ? c.counters.audited : c.counters.denied;
  CHECK(counted[OJH_HOOK_SOCKET_CREATE] == 7);
  CHECK(release(pins, objs, {"raw", "", 0}).released == 1);
  CHECK(in(ctr, AF_PACKET, SOCK_RAW, 0) == 0);
}
