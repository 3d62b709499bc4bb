// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ojh {

// An address of the host (the network namespace the runtime runs the hook in).
struct HostAddress {
  enum class Kind { Unicast, Broadcast, Anycast };
  int family;                            // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4
  std::string interface;
  Kind kind = Kind::Unicast;
};

// Every address the caller's network namespace answers on: each interface's addresses (v4
// and v6, link-local included), each IPv4 broadcast address, and the IPv6 anycast addresses
// of /proc/net/anycast6 - except loopback and unspecified ones, which the BPF program
// judges per netns instead.
std::vector<HostAddress> host_addresses();

// `addresses` without those on the named interfaces.
std::vector<HostAddress> without_interfaces(std::vector<HostAddress> addresses,
                                            const std::vector<std::string>& interfaces);

// The entries of /proc/net/anycast6 ("ifindex ifname 32-hex-digit-address refcount", as
// the kernel's ac6_seq_show() prints them).
// Malformed lines are skipped.
std::vector<HostAddress> parse_anycast6(std::string_view text);

// SO_NETNS_COOKIE of the caller's network namespace: what bpf_get_netns_cookie() returns
// for sockets there.
std::uint64_t current_netns_cookie();

}  // namespace ojh
