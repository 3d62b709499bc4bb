// SPDX-License-Identifier: Apache-2.0
// Denial records: the token bucket, the slots and the record layout the BPF programs use
// (bpf/block_host_events.h, compiled natively here), and how `events` shows a record.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "bpf/block_host_events.h"
#include "hook/event_format.hpp"
#include "tests/support/catch.hpp"

namespace {

constexpr __u64 kSecond = 1000000000ull;

ojh_destination dest4(const char* text, unsigned port, unsigned protocol) {
  __u32 w = 0;
  REQUIRE(inet_pton(AF_INET, text, &w) == 1);
  return ojh_destination4(w, htons(static_cast<uint16_t>(port)), protocol);
}

ojh_destination dest6(const char* text, unsigned port, unsigned protocol) {
  __u32 w[4];
  REQUIRE(inet_pton(AF_INET6, text, w) == 1);
  return ojh_destination6(w[0], w[1], w[2], w[3], htons(static_cast<uint16_t>(port)), protocol);
}

// The record exactly as the program writes it (ojh_emit_denial), comm words zeroed.
ojh_event record(const ojh_destination& d, __u32 pid, __u32 hook, __u32 verdict, __u32 flags,
                 __u64 seq) {
  ojh_event_words e{};
  ojh_event_set(&e, 5 * kSecond, 4242, &d, pid, hook, verdict, flags, seq);
  e.w[6] = e.w[7] = 0;
  return e.event;
}

// How `events` shows a record that carries no address (a socket refused at creation, an
// AF_UNIX destination): only FAMILY and PROTOCOL set, pid 7, container "agent-7".
ojh::EventView addressless(__u8 family, __u8 protocol, __u32 hook, __u32 verdict) {
  ojh_destination d{};
  d.family = family;
  d.protocol = protocol;
  return ojh::view_event(record(d, 7, hook, verdict, 0, 0), "agent-7", 0, "");
}

}  // namespace

TEST_CASE("the token bucket admits a burst, then the rate", "[events]") {
  __u64 tat = 0;
  const __u64 start = 100 * kSecond;
  int admitted = 0;
  for (int i = 0; i < 10000; ++i) admitted += ojh_rate_admit(&tat, start);
  CHECK(admitted == static_cast<int>(OJH_EVENT_BURST));
  // A second later the bucket has OJH_EVENT_RATE tokens again, and no more.
  admitted = 0;
  for (int i = 0; i < 10000; ++i) admitted += ojh_rate_admit(&tat, start + kSecond);
  CHECK(admitted == static_cast<int>(OJH_EVENT_RATE));
  // A long quiet time refills it to the burst, never beyond.
  admitted = 0;
  for (int i = 0; i < 10000; ++i) admitted += ojh_rate_admit(&tat, start + 3600 * kSecond);
  CHECK(admitted == static_cast<int>(OJH_EVENT_BURST));
}

TEST_CASE("a steady flood gets the rate over time", "[events]") {
  __u64 tat = 0;
  int admitted = 0;
  // 10,000 attempts per second for 10 seconds.
  for (__u64 t = 0; t < 10 * kSecond; t += kSecond / 10000) admitted += ojh_rate_admit(&tat, t);
  CHECK(admitted >= static_cast<int>(OJH_EVENT_BURST + 9 * OJH_EVENT_RATE));
  CHECK(admitted <= static_cast<int>(OJH_EVENT_BURST + 10 * OJH_EVENT_RATE));
}

TEST_CASE("slots wrap over the last OJH_EVENT_SLOTS records", "[events]") {
  CHECK(ojh_event_slot(0) == 0);
  CHECK(ojh_event_slot(OJH_EVENT_SLOTS - 1) == OJH_EVENT_SLOTS - 1);
  CHECK(ojh_event_slot(OJH_EVENT_SLOTS) == 0);
  CHECK(ojh_event_slot(3 * OJH_EVENT_SLOTS + 5) == 5);
}

TEST_CASE("a record written in words reads back field by field", "[events]") {
  static_assert(sizeof(ojh_event) == 64, "the record is 64 bytes, 8 words");
  const ojh_destination d = dest6("::ffff:10.88.0.1", 5432, IPPROTO_TCP);
  const ojh_event e = record(d, 4242, OJH_HOOK_CONNECT6, OJH_DENY_HOST_ADDR, 0, 77);
  CHECK(e.time_ns == 5 * kSecond);
  CHECK(e.cgroup_id == 4242);
  CHECK(e.family == OJH_AF_INET);  // normalized: the IPv4 address it carries
  CHECK(e.protocol == IPPROTO_TCP);
  CHECK(ntohs(e.port_be) == 5432);
  CHECK(e.pid == 4242);
  CHECK(e.hook == OJH_HOOK_CONNECT6);
  CHECK(e.verdict == OJH_DENY_HOST_ADDR);
  CHECK(e.flags == 0);
  CHECK(e.seq == 77);
  char text[INET_ADDRSTRLEN];
  CHECK(std::string(inet_ntop(AF_INET, e.addr, text, sizeof text)) == "10.88.0.1");
}

TEST_CASE("events shows a record as JSON and as one line", "[events]") {
  const ojh_event e = record(dest4("10.88.0.1", 5432, IPPROTO_TCP), 4242, OJH_HOOK_CONNECT4,
                             OJH_DENY_HOST_ADDR, 0, 3);
  // Boot time 5 s + offset = 2025-01-02T12:03:04.5Z.
  const std::int64_t wall = 1735819384500000000LL;
  const ojh::EventView v = ojh::view_event(e, "agent-7", wall - 5 * 1000000000LL, "python3");
  CHECK(ojh::event_json(v) ==
        R"({"time":"2025-01-02T12:03:04.500000Z","container":"agent-7","cgroup_id":4242,)"
        R"("verdict":"denied","reason":"host","operation":"connect4","protocol":"tcp",)"
        R"("address":"10.88.0.1","port":5432,"pid":4242,"comm":"python3","seq":3})");
  const std::string line = ojh::event_line(v);
  CHECK(line.substr(8) == " agent-7 denied tcp 10.88.0.1:5432 connect4 pid 4242 (python3)");

  const ojh_event icmp =
      record(dest6("fd00::1", 0, 58), 0, OJH_HOOK_EGRESS, OJH_DENY_HOST_ADDR, OJH_EVENT_AUDITED, 0);
  const ojh::EventView w = ojh::view_event(icmp, "agent-7", 0, "");
  CHECK(w.audited);
  CHECK(w.protocol == "icmpv6");
  CHECK(w.address == "fd00::1");
  CHECK(ojh::event_line(w).substr(8) == " agent-7 audited icmpv6 fd00::1 egress");
  const ojh::EventView u = ojh::view_event(
      record(dest6("fd00::1", 53, IPPROTO_UDP), 1, OJH_HOOK_SENDMSG6, OJH_DENY_METADATA, 0, 0), "",
      0, "");
  CHECK(ojh::destination_text(u) == "[fd00::1]:53");
  CHECK(u.reason == "metadata");
  CHECK(ojh::event_line(u).find(" cgroup:4242 denied udp [fd00::1]:53 sendmsg6 pid 1") !=
        std::string::npos);
}

TEST_CASE("a socket refused at creation shows its family, no address", "[events]") {
  // Family 17: AF_PACKET, as the socket_create program records it.
  const ojh::EventView v = addressless(17, 0, OJH_HOOK_SOCKET_CREATE, OJH_DENY_RAW_SOCKET);
  CHECK(v.operation == "socket_create");
  CHECK(v.reason == "raw-socket");
  CHECK(v.protocol == "packet");
  CHECK(v.address.empty());
  CHECK(v.port == 0);
  // Protocol 255: IPPROTO_RAW in an AF_INET socket, whose family is not recorded.
  const ojh::EventView w = addressless(0, 255, OJH_HOOK_SOCKET_CREATE, OJH_DENY_RAW_SOCKET);
  CHECK(w.protocol == "raw");
  CHECK(w.address.empty());
}

TEST_CASE("an AF_UNIX denial names the kind of name, no address", "[events]") {
  // The family as the AF_UNIX programs record it.
  const ojh::EventView v =
      addressless(OJH_AF_UNIX, 0, OJH_HOOK_CONNECT_UNIX, OJH_DENY_UNIX_ABSTRACT);
  CHECK(v.operation == "connect_unix");
  CHECK(v.reason == "unix-abstract");
  CHECK(v.protocol == "unix");
  CHECK(v.address.empty());
  const ojh::EventView n = addressless(OJH_AF_UNIX, 0, OJH_HOOK_SENDMSG_UNIX, OJH_DENY_UNIX_NAMED);
  CHECK(n.operation == "sendmsg_unix");
  CHECK(n.reason == "unix-named");
}
