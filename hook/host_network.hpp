// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ojh {

// An address of the host (the network namespace the runtime runs the hook in).
struct HostAddress {
  int family;                            // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4
  std::string interface;
};

// Every address on every interface of the caller's network namespace, v4 and v6, except
// loopback and unspecified ones: those are judged per netns by the BPF program instead.
std::vector<HostAddress> host_addresses();

// SO_NETNS_COOKIE of the caller's network namespace: what bpf_get_netns_cookie() returns
// for sockets there.
std::uint64_t current_netns_cookie();

}  // namespace ojh
