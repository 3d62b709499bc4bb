// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include "bpf/block_host_events.h"

namespace ojh {

// A denial record as `oci-jail-hook events` shows it (docs/events-json.md). Pure: the
// caller supplies the container id, the clock offset and the comm it read.
struct EventView {
  std::int64_t wall_ns = 0;  // CLOCK_REALTIME nanoseconds
  std::string container;     // container id; "" when no enforced container has the cgroup
  std::uint64_t cgroup_id = 0;
  bool audited = false;
  std::string operation;  // kPrograms name: connect4, connect6, sendmsg4, sendmsg6, egress, ...
  std::string reason;     // loopback, host, metadata, cidr, multicast
  std::string protocol;   // tcp, udp, icmp, icmpv6, sctp, udplite, raw, or ip-<number>
  std::string address;    // inet_ntop form; IPv4-mapped IPv6 already shown as IPv4
  bool ipv6 = false;
  unsigned port = 0;  // host order; 0 where none
  std::uint32_t pid = 0;
  std::string comm;
  std::uint64_t seq = 0;
};

// `realtime_minus_boottime_ns`: CLOCK_REALTIME - CLOCK_BOOTTIME now (records carry boot time).
EventView view_event(const ojh_event& e, const std::string& container,
                     std::int64_t realtime_minus_boottime_ns, const std::string& comm);

const char* protocol_name_of(unsigned protocol, std::string& scratch);
// A socket family other than IPv4/IPv6 (AF_PACKET: "packet", AF_XDP: "xdp", ...).
const char* socket_family_name(unsigned family, std::string& scratch);

// One JSON object, no newline (docs/events-json.md).
std::string event_json(const EventView& v);
// One line a person reads at a glance, local time:
//   12:03:04 agent-7 denied tcp 10.88.0.1:5432 connect4 pid 4242 (python3)
std::string event_line(const EventView& v);
// RFC 3339 in UTC with microseconds: 2025-01-02T12:03:04.123456Z
std::string rfc3339_utc(std::int64_t wall_ns);
// The destination as host:port ([v6]:port), or the address alone for port 0.
std::string destination_text(const EventView& v);

}  // namespace ojh
