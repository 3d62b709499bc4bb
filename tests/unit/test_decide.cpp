// SPDX-License-Identifier: Apache-2.0
// The BPF decision logic, compiled natively from the same header the kernel programs use.
#include <arpa/inet.h>

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

// A stand-in for the kernel's LPM trie: exact /32 and /128 rules are all the default policy
// writes, so a map keyed by (policy, address) behaves the same for these cases.
struct FakeRules {
  std::map<std::pair<__u64, std::string>, ojh_rule> rules;
  void add(__u64 policy, const std::string& addr, ojh_rule_kind kind) {
    rules[{policy, addr}] = ojh_rule{static_cast<__u32>(kind), 0};
  }
  const ojh_rule* find(__u64 policy, const std::string& addr) const {
    auto it = rules.find({policy, addr});
    return it == rules.end() ? nullptr : &it->second;
  }
};

std::string bytes(const __u8* a, std::size_t n) { return std::string(a, a + n); }

// Mirrors judge4/judge6 in block_host.bpf.c: classify, look up, decide.
ojh_verdict judge(const ojh_policy& policy, __u64 netns, const char* dest, const FakeRules& r) {
  if (std::strchr(dest, ':')) {
    const auto a6 = v6(dest);
    __u8 a4[4];
    if (ojh_v4_mapped(a6.data(), a4)) {
      const int local = ojh_is_loopback_or_unspec4(a4);
      return ojh_decide(&policy, netns, local,
                        local ? nullptr : r.find(policy.policy_id, bytes(a4, 4)));
    }
    const int local = ojh_is_loopback_or_unspec6(a6.data());
    return ojh_decide(&policy, netns, local,
                      local ? nullptr : r.find(policy.policy_id, bytes(a6.data(), 16)));
  }
  const auto a4 = v4(dest);
  const int local = ojh_is_loopback_or_unspec4(a4.data());
  return ojh_decide(&policy, netns, local,
                    local ? nullptr : r.find(policy.policy_id, bytes(a4.data(), 4)));
}

FakeRules default_rules() {
  FakeRules r;
  r.add(kPolicy, bytes(v4("10.88.0.1").data(), 4), OJH_RULE_HOST_ADDR);
  r.add(kPolicy, bytes(v6("fd00:200::1").data(), 16), OJH_RULE_HOST_ADDR);
  r.add(kPolicy, bytes(v4("169.254.169.254").data(), 4), OJH_RULE_METADATA);
  r.add(kPolicy, bytes(v6("fd00:ec2::254").data(), 16), OJH_RULE_METADATA);
  r.add(kPolicy, bytes(v4("192.0.2.0").data(), 4), OJH_RULE_CIDR);
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
  r.add(kPolicy + 1, bytes(v4("10.88.0.1").data(), 4), OJH_RULE_HOST_ADDR);
  CHECK(judge(policy(), kContainerNetns, "10.88.0.1", r) == OJH_ALLOW);
}

TEST_CASE("an unwritten policy denies everything, even loopback in a private netns", "[decide]") {
  const FakeRules r = default_rules();
  const ojh_policy unwritten{};
  CHECK(judge(unwritten, kContainerNetns, "1.1.1.1", r) == OJH_DENY_UNINITIALIZED);
  CHECK(judge(unwritten, kContainerNetns, "127.0.0.1", r) == OJH_DENY_UNINITIALIZED);
}

TEST_CASE("unknown rule kinds deny", "[decide]") {
  const ojh_rule future{99, 0};
  const ojh_policy p = policy();
  CHECK(ojh_decide(&p, kContainerNetns, 0, &future) == OJH_DENY_CIDR);
}

TEST_CASE("v4-mapped detection is exact", "[decide]") {
  __u8 out[4] = {};
  CHECK(ojh_v4_mapped(v6("::ffff:1.2.3.4").data(), out) == 1);
  CHECK(std::memcmp(out, v4("1.2.3.4").data(), 4) == 0);
  CHECK(ojh_v4_mapped(v6("::fffe:1.2.3.4").data(), out) == 0);
  CHECK(ojh_v4_mapped(v6("1::ffff:1.2.3.4").data(), out) == 0);
  CHECK(ojh_v4_mapped(v6("::1.2.3.4").data(), out) == 0);
}

TEST_CASE("LPM keys put the policy id before the address", "[decide]") {
  ojh_lpm_key4 k4{};
  ojh_key4_set(&k4, kPolicy, v4("10.1.2.3").data(), 24);
  CHECK(k4.prefixlen == 64 + 24);
  CHECK(offsetof(ojh_lpm_key4, policy_hi) == 4);  // data starts right after prefixlen
  CHECK(((__u64{k4.policy_hi} << 32) | k4.policy_lo) == kPolicy);
  ojh_lpm_key6 k6{};
  ojh_key6_set(&k6, kPolicy, v6("fd00::1").data(), 128);
  CHECK(k6.prefixlen == 64 + 128);
  CHECK(sizeof(ojh_lpm_key6) == 4 + 8 + 16);
}
