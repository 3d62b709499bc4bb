// SPDX-License-Identifier: Apache-2.0
// The BPF decision logic, compiled natively from the same header the kernel programs use.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <string>

#include "bpf/block_host_abi.h"
#include "tests/support/catch.hpp"

namespace {

constexpr __u64 kHostNetns = 4096;
constexpr __u64 kContainerNetns = 8192;
constexpr __u64 kPolicy = 0x1234'5678'9abcULL;

std::array<__u8, 16> v6(const char* text) {
  std::array<__u8, 16> a{};
  REQUIRE(inet_pton(AF_INET6, text, a.data()) == 1);
  return a;
}

std::array<__u8, 4> v4(const char* text) {
  std::array<__u8, 4> a{};
  REQUIRE(inet_pton(AF_INET, text, a.data()) == 1);
  return a;
}

// The destination a program builds from what the kernel hands it (connect4/connect6: the
// address words in memory order), with the product's own glue.
ojh_destination destination(const char* text) {
  if (std::strchr(text, ':')) {
    const auto a = v6(text);
    __u32 w[4];
    std::memcpy(w, a.data(), sizeof w);
    return ojh_destination6(w[0], w[1], w[2], w[3], htons(80), IPPROTO_TCP);
  }
  const auto a = v4(text);
  __u32 w;
  std::memcpy(&w, a.data(), sizeof w);
  return ojh_destination4(w, htons(80), IPPROTO_TCP);
}

// The exact LPM key the programs look up for a destination (rule_kind in block_host.bpf.c).
std::string lookup_key(__u64 policy, const ojh_destination& d) {
  const auto* addr = reinterpret_cast<const __u8*>(d.addr);
  if (d.family == OJH_AF_INET) {
    ojh_lpm_key4_words k{};
    ojh_key4_set(&k, policy, addr, 32);
    return std::string(reinterpret_cast<const char*>(&k.key), sizeof k.key);
  }
  ojh_lpm_key6_words k{};
  ojh_key6_set(&k, policy, addr, 128);
  return std::string(reinterpret_cast<const char*>(&k.key), sizeof k.key);
}

// A stand-in for the kernel's LPM trie: exact /32 and /128 rules are all the default policy
// writes, so a map keyed by the full key behaves the same for these cases.
struct FakeRules {
  std::map<std::string, ojh_rule> rules;
  void add(__u64 policy, const char* addr, ojh_rule_kind kind) {
    rules[lookup_key(policy, destination(addr))] = ojh_rule{static_cast<__u32>(kind), 0};
  }
  __u32 kind(__u64 policy, const ojh_destination& d) const {
    auto it = rules.find(lookup_key(policy, d));
    return it == rules.end() ? 0 : it->second.kind;
  }
};

// judge() in block_host.bpf.c without its map and helper calls: classify, look up, decide.
ojh_verdict judge(const ojh_policy& policy, __u64 netns, const char* dest, const FakeRules& r) {
  const ojh_destination d = destination(dest);
  if (ojh_is_loopback_or_unspec(&d)) return ojh_decide(&policy, netns, 1, 0);
  return ojh_decide(&policy, netns, 0, r.kind(policy.policy_id, d));
}

FakeRules default_rules() {
  FakeRules r;
  r.add(kPolicy, "10.88.0.1", OJH_RULE_HOST_ADDR);
  r.add(kPolicy, "fd00:200::1", OJH_RULE_HOST_ADDR);
  r.add(kPolicy, "169.254.169.254", OJH_RULE_METADATA);
  r.add(kPolicy, "fd00:ec2::254", OJH_RULE_METADATA);
  r.add(kPolicy, "192.0.2.0", OJH_RULE_CIDR);
  return r;
}

ojh_policy policy() { return ojh_policy{kPolicy, kHostNetns, 0, 0}; }

}  // namespace

TEST_CASE("loopback and unspecified are denied only in the host netns", "[decide]") {
  const FakeRules r = default_rules();
  for (const char* dest :
       {"127.0.0.1", "127.1.2.3", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1", "::ffff:0.0.0.0"}) {
    CAPTURE(dest);
    CHECK(judge(policy(), kHostNetns, dest, r) == OJH_DENY_LOOPBACK);
    CHECK(judge(policy(), kContainerNetns, dest, r) == OJH_ALLOW);
  }
}

TEST_CASE("host addresses are denied from every netns, v4, v6 and v4-mapped", "[decide]") {
  const FakeRules r = default_rules();
  for (__u64 netns : {kHostNetns, kContainerNetns}) {
    CAPTURE(netns);
    CHECK(judge(policy(), netns, "10.88.0.1", r) == OJH_DENY_HOST_ADDR);
    CHECK(judge(policy(), netns, "::ffff:10.88.0.1", r) == OJH_DENY_HOST_ADDR);
    CHECK(judge(policy(), netns, "fd00:200::1", r) == OJH_DENY_HOST_ADDR);
    CHECK(judge(policy(), netns, "169.254.169.254", r) == OJH_DENY_METADATA);
    CHECK(judge(policy(), netns, "::ffff:169.254.169.254", r) == OJH_DENY_METADATA);
    CHECK(judge(policy(), netns, "fd00:ec2::254", r) == OJH_DENY_METADATA);
    CHECK(judge(policy(), netns, "192.0.2.0", r) == OJH_DENY_CIDR);
  }
}

TEST_CASE("other destinations are allowed", "[decide]") {
  const FakeRules r = default_rules();
  for (const char* dest : {"10.88.0.2", "1.1.1.1", "2001:db8::1", "::ffff:10.88.0.2", "::2",
                           "::127.0.0.1", "fe80::1"}) {
    CAPTURE(dest);
    CHECK(judge(policy(), kContainerNetns, dest, r) == OJH_ALLOW);
  }
}

TEST_CASE("rules of another container's policy never match", "[decide]") {
  FakeRules r;
  r.add(kPolicy + 1, "10.88.0.1", OJH_RULE_HOST_ADDR);
  CHECK(judge(policy(), kContainerNetns, "10.88.0.1", r) == OJH_ALLOW);
}

TEST_CASE("an unwritten policy denies everything, even loopback in a private netns", "[decide]") {
  const FakeRules r = default_rules();
  const ojh_policy unwritten{};
  CHECK(judge(unwritten, kContainerNetns, "1.1.1.1", r) == OJH_DENY_UNINITIALIZED);
  CHECK(judge(unwritten, kContainerNetns, "127.0.0.1", r) == OJH_DENY_UNINITIALIZED);
}

TEST_CASE("unknown rule kinds deny", "[decide]") {
  const ojh_policy p = policy();
  CHECK(ojh_decide(&p, kContainerNetns, 0, 99) == OJH_DENY_CIDR);
}

TEST_CASE("the egress backstop judges TCP and UDP only when the policy says so", "[decide]") {
  // <linux/net.h>: SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3; IPPROTO_UDPLITE 136.
  struct Socket {
    __u32 type;
    __u32 protocol;
    bool left_to_sock_addr;  // connect/sendmsg judge its destinations
  };
  static constexpr Socket kSockets[] = {
      {1, IPPROTO_TCP, true},   {2, IPPROTO_UDP, true},   {2, 136, true},
      {3, IPPROTO_UDP, false},  {3, IPPROTO_ICMP, false}, {2, IPPROTO_ICMP, false},
      {1, IPPROTO_SCTP, false}, {5, IPPROTO_SCTP, false}, {3, IPPROTO_RAW, false}};
  for (const Socket s : kSockets) {
    CAPTURE(s.type, s.protocol);
    CHECK(ojh_egress_judges(0, s.type, s.protocol) == !s.left_to_sock_addr);
    CHECK(ojh_egress_judges(OJH_POLICY_AUDIT, s.type, s.protocol) == !s.left_to_sock_addr);
    // A container that may rewrite destinations after connect/sendmsg (CAP_NET_ADMIN: DNAT
    // in its own netns) has every packet judged where its destination is final.
    CHECK(ojh_egress_judges(OJH_POLICY_JUDGE_ALL_EGRESS, s.type, s.protocol) == 1);
    CHECK(ojh_egress_judges(OJH_POLICY_JUDGE_ALL_EGRESS | OJH_POLICY_AUDIT, s.type, s.protocol) ==
          1);
  }
  // Flags are bits of one word: the new one must not alias audit mode.
  CHECK((OJH_POLICY_JUDGE_ALL_EGRESS & OJH_POLICY_AUDIT) == 0);
}

TEST_CASE("v4-mapped detection is exact", "[decide]") {
  const ojh_destination mapped = destination("::ffff:1.2.3.4");
  CHECK(mapped.family == OJH_AF_INET);
  CHECK(std::memcmp(mapped.addr, v4("1.2.3.4").data(), 4) == 0);
  CHECK((mapped.addr[1] | mapped.addr[2] | mapped.addr[3]) == 0);
  for (const char* text : {"::fffe:1.2.3.4", "1::ffff:1.2.3.4", "::1.2.3.4"}) {
    CAPTURE(text);
    const ojh_destination d = destination(text);
    CHECK(d.family == OJH_AF_INET6);
    CHECK(std::memcmp(d.addr, v6(text).data(), 16) == 0);
  }
}

TEST_CASE("LPM keys put the policy id before the address", "[decide]") {
  ojh_lpm_key4_words k4{};
  ojh_key4_set(&k4, kPolicy, v4("10.1.2.3").data(), 24);
  CHECK(k4.key.prefixlen == 64 + 24);
  CHECK(offsetof(ojh_lpm_key4, policy_hi) == 4);  // data starts right after prefixlen
  CHECK(((__u64{k4.key.policy_hi} << 32) | k4.key.policy_lo) == kPolicy);
  CHECK(std::memcmp(k4.key.addr, v4("10.1.2.3").data(), 4) == 0);
  ojh_lpm_key6_words k6{};
  ojh_key6_set(&k6, kPolicy, v6("fd00::1").data(), 128);
  CHECK(k6.key.prefixlen == 64 + 128);
  CHECK(((__u64{k6.key.policy_hi} << 32) | k6.key.policy_lo) == kPolicy);
  CHECK(std::memcmp(k6.key.addr, v6("fd00::1").data(), 16) == 0);
  CHECK(sizeof(ojh_lpm_key6) == 4 + 8 + 16);
}

TEST_CASE("exception keys: every field where the struct says", "[decide]") {
  ojh_exception_key_words k{};
  ojh_exception_key_set(&k, kPolicy, IPPROTO_UDP, OJH_AF_INET6, htons(53), v6("fd00::53").data());
  CHECK(((__u64{k.key.policy_hi} << 32) | k.key.policy_lo) == kPolicy);
  CHECK(k.key.protocol == IPPROTO_UDP);
  CHECK(k.key.family == OJH_AF_INET6);
  CHECK(k.key.port == htons(53));
  CHECK(std::memcmp(k.key.addr, v6("fd00::53").data(), 16) == 0);

  ojh_exception_key_set(&k, kPolicy, IPPROTO_TCP, OJH_AF_INET, htons(8080), v4("10.88.0.1").data());
  CHECK(k.key.family == OJH_AF_INET);
  CHECK(std::memcmp(k.key.addr, v4("10.88.0.1").data(), 4) == 0);
  CHECK(std::all_of(k.key.addr + 4, k.key.addr + 16, [](__u8 b) { return b == 0; }));

  // "Any blocked address": family 0 and no address, whatever the pointer.
  ojh_exception_key_set(&k, kPolicy, IPPROTO_TCP, 0, htons(22), nullptr);
  CHECK(k.key.family == 0);
  CHECK(std::all_of(k.key.addr, k.key.addr + 16, [](__u8 b) { return b == 0; }));
}

// AF_UNIX (connect_unix / sendmsg_unix): the name as the program classifies it from the
// socket address length and the first byte of sun_path, then ojh_decide_unix.
TEST_CASE("abstract AF_UNIX names are refused only in the host netns", "[decide][unix]") {
  const ojh_policy p = policy();
  const __u32 len = 2 + 8;  // family + a name of 8 bytes
  CHECK(ojh_unix_name_of(len, 0) == OJH_UNIX_ABSTRACT);
  CHECK(ojh_unix_name_of(len, '/') == OJH_UNIX_PATH);
  CHECK(ojh_unix_name_of(len, 'r') == OJH_UNIX_PATH);  // a relative path is a path
  // The kernel never hands a name shorter than one byte; judged as abstract if it did.
  CHECK(ojh_unix_name_of(2, '/') == OJH_UNIX_ABSTRACT);
  CHECK(ojh_decide_unix(&p, kHostNetns, OJH_UNIX_ABSTRACT) == OJH_DENY_UNIX_ABSTRACT);
  CHECK(ojh_decide_unix(&p, kContainerNetns, OJH_UNIX_ABSTRACT) == OJH_ALLOW);
  CHECK(ojh_decide_unix(&p, kHostNetns, OJH_UNIX_PATH) == OJH_ALLOW);
  CHECK(ojh_decide_unix(&p, kContainerNetns, OJH_UNIX_PATH) == OJH_ALLOW);
}

TEST_CASE("deny-all refuses every named AF_UNIX destination in every netns", "[decide][unix]") {
  ojh_policy p = policy();
  p.flags = OJH_POLICY_UNIX_DENY_ALL;
  for (const __u64 netns : {kHostNetns, kContainerNetns})
    for (const auto name : {OJH_UNIX_ABSTRACT, OJH_UNIX_PATH}) {
      CAPTURE(netns, name);
      CHECK(ojh_decide_unix(&p, netns, name) == OJH_DENY_UNIX_NAMED);
      CHECK(ojh_is_denial(ojh_decide_unix(&p, netns, name)));
    }
}

TEST_CASE("an unwritten policy refuses AF_UNIX names too", "[decide][unix]") {
  const ojh_policy unwritten{};
  CHECK(ojh_decide_unix(&unwritten, kContainerNetns, OJH_UNIX_PATH) == OJH_DENY_UNINITIALIZED);
}
