// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "hook/rules.hpp"

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

}  // namespace

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
  CHECK(rules.size() == ojh::metadata_rules().size() + 3);
  for (const auto& r : rules)
    if (ojh::format_rule(r).rfind("10.200.0.1/32", 0) == 0) {
      CHECK(r.kind == OJH_RULE_HOST_ADDR);
      CHECK(r.origin == "host address on veth0");
    }
}

TEST_CASE("a host address equal to a metadata address stays a metadata rule", "[rules]") {
  const auto rules = ojh::container_rules({host("169.254.169.254", "dummy0")});
  CHECK(rules.size() == ojh::metadata_rules().size());
}

TEST_CASE("a container's cidr equal to a host address stays a cidr rule", "[rules]") {
  ojh::Cidr cidr{};
  cidr.address.family = AF_INET;
  REQUIRE(inet_pton(AF_INET, "10.200.0.67", cidr.address.bytes.data()) == 1);
  cidr.prefixlen = 32;
  cidr.origin = "annotation";
  const auto rules = ojh::container_rules({host("10.200.0.67", "vh")}, {cidr});
  REQUIRE(rules.size() == ojh::metadata_rules().size() + 1);
  CHECK(rules.back().kind == OJH_RULE_CIDR);
}
