// SPDX-License-Identifier: Apache-2.0
#include "hook/host_network.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "bpf/block_host_abi.h"
#include "hook/fd.hpp"
#include "oci/error.hpp"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace ojh {

std::vector<HostAddress> host_addresses() {
  ifaddrs* raw = nullptr;
  if (getifaddrs(&raw) != 0) throw Error("list host interface addresses (getifaddrs)", errno);
  struct IfaddrsFree {
    void operator()(ifaddrs* p) const { ::freeifaddrs(p); }
  };
  std::unique_ptr<ifaddrs, IfaddrsFree> list(raw);

  std::vector<HostAddress> out;
  for (const ifaddrs* it = list.get(); it; it = it->ifa_next) {
    if (!it->ifa_addr) continue;
    HostAddress a{};
    a.family = it->ifa_addr->sa_family;
    a.interface = it->ifa_name ? it->ifa_name : "";
    if (a.family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
      std::memcpy(a.bytes.data(), &sin->sin_addr, 4);
      if (ojh_is_loopback_or_unspec4(a.bytes.data())) continue;
    } else if (a.family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
      std::memcpy(a.bytes.data(), &sin6->sin6_addr, 16);
      if (ojh_is_loopback_or_unspec6(a.bytes.data())) continue;
    } else {
      continue;
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::uint64_t current_netns_cookie() {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw Error("create a socket to read the host netns cookie", errno);
  std::uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (::getsockopt(sock.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
    throw Error("read the host netns cookie (SO_NETNS_COOKIE needs Linux 5.14)", errno);
  return cookie;
}

}  // namespace ojh
