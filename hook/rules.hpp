// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "bpf/block_host_abi.h"
#include "hook/host_network.hpp"
#include "oci/policy.hpp"

namespace ojh {

// One blocked destination range, as it goes into the LPM tries.
struct Rule {
  int family;  // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};
  unsigned prefixlen;  // 0..32 or 0..128
  ojh_rule_kind kind;
  std::string origin;  // "eth0", "cloud metadata", ... for status and logs

  bool operator==(const Rule&) const = default;
};

// Addresses that reach the host or the cloud provider's control plane from any container:
// instance metadata (AWS/GCP/Azure/OpenStack 169.254.169.254, AWS IPv6 fd00:ec2::254, ECS
// task metadata 169.254.170.2, Alibaba 100.100.100.200) and the host as seen by rootless
// network stacks (slirp4netns 10.0.2.2, pasta --map-guest-addr 169.254.1.2).
std::vector<Rule> metadata_rules();

// Multicast (224.0.0.0/4, ff00::/8) and the limited broadcast 255.255.255.255: datagrams
// to them are delivered to host sockets bound to the wildcard address, from any netns
// that shares a link (or the loopback) with the host.
std::vector<Rule> multicast_rules();

// Every host interface address as a /32 or /128 rule.
std::vector<Rule> host_address_rules(const std::vector<HostAddress>& host);

// Extra blocked ranges (jail.block-host.cidrs).
std::vector<Rule> cidr_rules(const std::vector<Cidr>& cidrs);

// The rules of an enforced container: metadata, multicast, extra ranges, every host
// interface address. A key is kept once, and the container's policy (metadata, cidr) wins over a
// host address with the same key: `refresh` rewrites host-address rules only, so a policy rule must
// never be stored as one.
std::vector<Rule> container_rules(const std::vector<HostAddress>& host,
                                  const std::vector<Cidr>& cidrs = {});

std::string format_rule(const Rule& rule);  // "10.88.0.1/32 (host address on eth0)"

// Whether two rules occupy one LPM key (their kind and origin may differ).
bool same_key(const Rule& a, const Rule& b);

// How to bring one policy's rules from what the maps hold (`current`) to a new set. The
// programs read the maps while they change, so an update writes every rule of `insert`
// first (BPF_ANY: a key that exists takes its new kind) and only then deletes `erase`,
// which never holds a key of `insert`: a destination blocked before and after is blocked
// throughout.
struct RuleUpdate {
  std::vector<Rule> insert;
  std::vector<Rule> erase;
};

// The container's rules become exactly `wanted` (create-runtime run again).
RuleUpdate replace_rules(const std::vector<Rule>& current, const std::vector<Rule>& wanted);

// Only the host-address rules become `host` (refresh): a key that holds a policy rule
// (metadata, multicast, cidr) is neither overwritten by a host address nor deleted.
RuleUpdate replace_host_rules(const std::vector<Rule>& current, const std::vector<Rule>& host);

}  // namespace ojh
