// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>

#include <cstring>

#include "hook/rules.hpp"
#include "tests/support/catch.hpp"

namespace {

ojh::HostAddress host(const char* text, const char* ifname) {
  ojh::HostAddress a{};
  a.family = std::strchr(text, ':') ? AF_INET6 : AF_INET;
  REQUIRE(inet_pton(a.family, text, a.bytes.data()) == 1);
  a.interface = ifname;
  return a;
}

bool has(const std::vector<ojh::Rule>& rules, const std::string& text) {
  for (const auto& r : rules)
    if (ojh::format_rule(r).rfind(text + " ", 0) == 0) return true;
  return false;
}

// Every container carries the metadata and multicast rules.
std::size_t base_size() { return ojh::metadata_rules().size() + ojh::multicast_rules().size(); }

}  // namespace

TEST_CASE("multicast and limited broadcast are blocked for every container", "[rules]") {
  const auto rules = ojh::container_rules({});
  for (const char* want : {"224.0.0.0/4", "255.255.255.255/32", "ff00::/8"}) {
    CAPTURE(want);
    CHECK(has(rules, want));
  }
}

TEST_CASE("/proc/net/anycast6 entries become host addresses", "[rules]") {
  const auto any = ojh::parse_anycast6(
      // As on this VM with forwarding on: index, name, address, refcount.
      "2    vh              fd000200000000000000000000000000     1\n"
      "2    vh              fe800000000000000000000000000000     1\n"
      "1    lo              00000000000000000000000000000001     1\n"
      "garbage line\n"
      "3    x               zz000200000000000000000000000000     1\n"
      "3    x               fd00     1\n");
  REQUIRE(any.size() == 2);
  CHECK(any[0].interface == "vh");
  CHECK(any[0].kind == ojh::HostAddress::Kind::Anycast);
  const auto rules = ojh::host_address_rules(any);
  CHECK(ojh::format_rule(rules[0]) == "fd00:200::/128 (anycast address on vh)");
  CHECK(ojh::format_rule(rules[1]) == "fe80::/128 (anycast address on vh)");
}

TEST_CASE("metadata rules cover the cloud and rootless host mappings", "[rules]") {
  const auto rules = ojh::metadata_rules();
  for (const char* want : {"169.254.169.254/32", "fd00:ec2::254/128", "169.254.170.2/32",
                           "100.100.100.200/32", "10.0.2.2/32", "169.254.1.2/32"}) {
    CAPTURE(want);
    CHECK(has(rules, want));
  }
  for (const auto& r : rules) CHECK(r.kind == OJH_RULE_METADATA);
}

TEST_CASE("container rules add each host address once, as a host rule", "[rules]") {
  const auto rules =
      ojh::container_rules({host("10.200.0.1", "veth0"), host("fd00:200::1", "veth0"),
                            host("10.200.0.1", "br0"), host("fe80::1", "veth0")});
  CHECK(has(rules, "10.200.0.1/32"));
  CHECK(has(rules, "fd00:200::1/128"));
  CHECK(has(rules, "fe80::1/128"));
  CHECK(rules.size() == base_size() + 3);
  for (const auto& r : rules)
    if (ojh::format_rule(r).rfind("10.200.0.1/32", 0) == 0) {
      CHECK(r.kind == OJH_RULE_HOST_ADDR);
      CHECK(r.origin == "host address on veth0");
    }
}

TEST_CASE("a host address equal to a metadata address stays a metadata rule", "[rules]") {
  const auto rules = ojh::container_rules({host("169.254.169.254", "dummy0")});
  CHECK(rules.size() == base_size());
}

TEST_CASE("a container's cidr equal to a host address stays a cidr rule", "[rules]") {
  ojh::Cidr cidr{};
  cidr.address.family = AF_INET;
  REQUIRE(inet_pton(AF_INET, "10.200.0.67", cidr.address.bytes.data()) == 1);
  cidr.prefixlen = 32;
  cidr.origin = "annotation";
  const auto rules = ojh::container_rules({host("10.200.0.67", "vh")}, {cidr});
  REQUIRE(rules.size() == base_size() + 1);
  CHECK(rules.back().kind == OJH_RULE_CIDR);
}

TEST_CASE("addresses of ignored interfaces are not host addresses", "[rules]") {
  const auto kept = ojh::without_interfaces(
      {host("10.96.0.1", "kube-ipvs0"), host("10.200.0.1", "eth0")}, {"kube-ipvs0"});
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].interface == "eth0");
}
