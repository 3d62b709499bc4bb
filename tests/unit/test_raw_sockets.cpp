// SPDX-License-Identifier: Apache-2.0
// The socket_create program's decision (bpf/raw_sockets.h), run natively: the same code the
// kernel runs.
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bpf/raw_sockets.h"
#include "oci/capability_policy.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"

// The BPF side cannot include <sys/socket.h>: its copies must be the kernel's values.
static_assert(OJH_AF_PACKET == AF_PACKET && OJH_AF_LLC == AF_LLC && OJH_AF_XDP == AF_XDP);
static_assert(OJH_AF_INET == AF_INET && OJH_AF_INET6 == AF_INET6);
static_assert(OJH_SOCK_RAW == SOCK_RAW && OJH_SOCK_PACKET == SOCK_PACKET);

TEST_CASE("sockets below IP are refused, the rest is left to the other programs", "[raw]") {
  // Frames to a device: any type, any protocol.
  CHECK(ojh_socket_refused(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), 0));
  CHECK(ojh_socket_refused(AF_PACKET, SOCK_DGRAM, 0, 0));
  CHECK(ojh_socket_refused(AF_XDP, SOCK_RAW, 0, 0));
  CHECK(ojh_socket_refused(AF_LLC, SOCK_DGRAM, 0, 0));
  // Raw IP, IPPROTO_RAW included, and the obsolete SOCK_PACKET; flags do not hide the type.
  CHECK(ojh_socket_refused(AF_INET, SOCK_RAW, IPPROTO_ICMP, 0));
  CHECK(ojh_socket_refused(AF_INET, SOCK_RAW, IPPROTO_RAW, 0));
  CHECK(ojh_socket_refused(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, 0));
  CHECK(ojh_socket_refused(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP, 0));
  CHECK(ojh_socket_refused(AF_INET, SOCK_PACKET, htons(ETH_P_ALL), 0));
  // Judged by connect/sendmsg or the egress backstop: ping sockets too.
  CHECK_FALSE(ojh_socket_refused(AF_INET, SOCK_DGRAM, IPPROTO_ICMP, 0));
  CHECK_FALSE(ojh_socket_refused(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6, 0));
  CHECK_FALSE(ojh_socket_refused(AF_INET, SOCK_STREAM, 0, 0));
  CHECK_FALSE(ojh_socket_refused(AF_INET6, SOCK_SEQPACKET, IPPROTO_SCTP, 0));
  CHECK_FALSE(ojh_socket_refused(AF_UNIX, SOCK_DGRAM, 0, 0));
  CHECK_FALSE(ojh_socket_refused(AF_NETLINK, SOCK_RAW, 0, 0));
  // The kernel's own sockets are not the container's.
  CHECK_FALSE(ojh_socket_refused(AF_PACKET, SOCK_RAW, 0, 1));
  CHECK_FALSE(ojh_socket_refused(AF_INET, SOCK_RAW, IPPROTO_RAW, 1));
}

TEST_CASE("CAP_NET_RAW is accepted where the BPF LSM refuses its sockets", "[raw]") {
  const std::set<std::string> docker_like = {"CAP_CHOWN", "CAP_NET_RAW"};
  CHECK(ojh::refused_capabilities(docker_like, {}, {true, ""}).empty());
  CHECK_NOTHROW(ojh::check_capabilities(docker_like, {}, {true, ""}));
  // Only CAP_NET_RAW: the others get around cgroup BPF in other ways.
  CHECK(ojh::refused_capabilities({"CAP_NET_RAW", "CAP_SYS_ADMIN"}, {}, {true, ""}) ==
        std::vector<std::string>{"CAP_SYS_ADMIN"});
  // Without it the refusal line says why the sockets cannot be refused instead.
  CHECK_THROWS_WITH(
      ojh::check_capabilities(docker_like, {},
                              {false, "the BPF LSM is not active (active LSMs: x)"}),
      "the container may hold CAP_NET_RAW, which can get around cgroup BPF (see docs/policy.md); "
      "CAP_NET_RAW's sockets cannot be refused instead: the BPF LSM is not active (active LSMs: "
      "x); drop it (podman --cap-drop=NET_RAW) or accept the risk in the admin config "
      "(allow-capabilities = CAP_NET_RAW)");
  CHECK(ojh::refused_capabilities(docker_like, {"CAP_NET_RAW"}, {false, "why"}).empty());
}
