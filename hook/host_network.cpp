// SPDX-License-Identifier: Apache-2.0
#include "hook/host_network.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

#include "bpf/block_host_abi.h"
#include "hook/fd.hpp"
#include "hook/file.hpp"
#include "oci/error.hpp"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace ojh {
namespace {

// The programs never look up loopback or unspecified destinations (they are judged by netns),
// so host addresses of that kind are not written as rules; same classification as theirs.
bool loopback_or_unspec(__u8 family, const std::uint8_t* bytes) {
  const ojh_destination d = ojh_destination_of(family, bytes);
  return ojh_is_loopback_or_unspec(&d);
}

}  // namespace

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
      if (loopback_or_unspec(OJH_AF_INET, a.bytes.data())) continue;
      if ((it->ifa_flags & IFF_BROADCAST) && it->ifa_broadaddr &&
          it->ifa_broadaddr->sa_family == AF_INET) {
        HostAddress b{};
        b.family = AF_INET;
        b.interface = a.interface;
        b.kind = HostAddress::Kind::Broadcast;
        std::memcpy(b.bytes.data(),
                    &reinterpret_cast<const sockaddr_in*>(it->ifa_broadaddr)->sin_addr, 4);
        if (!loopback_or_unspec(OJH_AF_INET, b.bytes.data())) out.push_back(b);
      }
      // fib_add_ifaddr() makes prefix|~mask a broadcast route (prefixes shorter than /31)
      // whether or not the address carries IFA_BROADCAST (`ip addr add 10.0.0.1/24` has none).
      if (it->ifa_netmask && it->ifa_netmask->sa_family == AF_INET) {
        std::uint32_t addr, mask;
        std::memcpy(&addr, &sin->sin_addr, 4);
        std::memcpy(&mask, &reinterpret_cast<const sockaddr_in*>(it->ifa_netmask)->sin_addr, 4);
        if (__builtin_popcount(mask) < 31) {
          HostAddress b{};
          b.family = AF_INET;
          b.interface = a.interface;
          b.kind = HostAddress::Kind::Broadcast;
          const std::uint32_t bcast = addr | ~mask;
          std::memcpy(b.bytes.data(), &bcast, 4);
          out.push_back(b);
        }
      }
    } else if (a.family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
      std::memcpy(a.bytes.data(), &sin6->sin6_addr, 16);
      if (loopback_or_unspec(OJH_AF_INET6, a.bytes.data())) continue;
    } else {
      continue;
    }
    out.push_back(std::move(a));
  }
  // Absent without IPv6; a read error here would hide addresses, so it is not ignored.
  std::string anycast;
  try {
    anycast = read_file_bounded("/proc/net/anycast6", 1 << 20);
  } catch (const Error& e) {
    if (e.code() != ENOENT) throw;
  }
  for (HostAddress& a : parse_anycast6(anycast)) out.push_back(std::move(a));
  return out;
}

std::vector<HostAddress> without_interfaces(std::vector<HostAddress> addresses,
                                            const std::vector<std::string>& interfaces) {
  std::erase_if(addresses, [&](const HostAddress& a) {
    return std::find(interfaces.begin(), interfaces.end(), a.interface) != interfaces.end();
  });
  return addresses;
}

std::vector<HostAddress> parse_anycast6(std::string_view text) {
  std::vector<HostAddress> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string index, name, refs, hex;
    // ac6_seq_show(): "ifindex ifname address refcount"
    if (!(fields >> index >> name >> hex >> refs) || hex.size() != 32) continue;
    HostAddress a{};
    a.family = AF_INET6;
    a.interface = name;
    a.kind = HostAddress::Kind::Anycast;
    bool ok = true;
    for (std::size_t i = 0; i < 16 && ok; ++i) {
      unsigned byte = 0;
      ok = std::sscanf(hex.c_str() + 2 * i, "%2x", &byte) == 1 &&
           std::isxdigit(static_cast<unsigned char>(hex[2 * i])) &&
           std::isxdigit(static_cast<unsigned char>(hex[2 * i + 1]));
      a.bytes[i] = static_cast<std::uint8_t>(byte);
    }
    if (ok && !loopback_or_unspec(OJH_AF_INET6, a.bytes.data())) out.push_back(std::move(a));
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
