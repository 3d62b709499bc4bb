// SPDX-License-Identifier: Apache-2.0
#include "hook/rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace ojh {
namespace {

Rule parse_rule(const char* text, unsigned prefixlen, ojh_rule_kind kind, const char* origin) {
  Rule r{};
  r.family = std::strchr(text, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(r.family, text, r.bytes.data()) != 1) __builtin_trap();  // constants only
  r.prefixlen = prefixlen;
  r.kind = kind;
  r.origin = origin;
  return r;
}

}  // namespace

std::vector<Rule> metadata_rules() {
  return {
      parse_rule("169.254.169.254", 32, OJH_RULE_METADATA, "cloud instance metadata"),
      parse_rule("169.254.170.2", 32, OJH_RULE_METADATA, "ECS task metadata"),
      parse_rule("100.100.100.200", 32, OJH_RULE_METADATA, "Alibaba Cloud metadata"),
      parse_rule("fd00:ec2::254", 128, OJH_RULE_METADATA, "AWS IPv6 instance metadata"),
      parse_rule("10.0.2.2", 32, OJH_RULE_METADATA, "slirp4netns host gateway"),
      parse_rule("169.254.1.2", 32, OJH_RULE_METADATA, "pasta host mapping"),
  };
}

std::vector<Rule> multicast_rules() {
  return {
      parse_rule("224.0.0.0", 4, OJH_RULE_MULTICAST, "IPv4 multicast"),
      parse_rule("255.255.255.255", 32, OJH_RULE_MULTICAST, "limited broadcast"),
      parse_rule("ff00::", 8, OJH_RULE_MULTICAST, "IPv6 multicast"),
  };
}

std::vector<Rule> host_address_rules(const std::vector<HostAddress>& host) {
  std::vector<Rule> rules;
  for (const HostAddress& a : host) {
    Rule r{};
    r.family = a.family;
    r.bytes = a.bytes;
    r.prefixlen = a.family == AF_INET ? 32 : 128;
    r.kind = OJH_RULE_HOST_ADDR;
    r.origin = std::string(a.kind == HostAddress::Kind::Broadcast ? "broadcast address"
                           : a.kind == HostAddress::Kind::Anycast ? "anycast address"
                                                                  : "host address") +
               " on " + a.interface;
    rules.push_back(std::move(r));
  }
  return rules;
}

std::vector<Rule> cidr_rules(const std::vector<Cidr>& cidrs) {
  std::vector<Rule> rules;
  for (const Cidr& c : cidrs) {
    Rule r{};
    r.family = c.address.family;
    r.bytes = c.address.bytes;
    r.prefixlen = c.prefixlen;
    r.kind = OJH_RULE_CIDR;
    r.origin = c.origin;
    rules.push_back(std::move(r));
  }
  return rules;
}

bool same_key(const Rule& a, const Rule& b) {
  return a.family == b.family && a.bytes == b.bytes && a.prefixlen == b.prefixlen;
}

std::vector<Rule> container_rules(const std::vector<HostAddress>& host,
                                  const std::vector<Cidr>& cidrs) {
  std::vector<Rule> rules;
  const auto add = [&rules](std::vector<Rule> more) {
    for (Rule& r : more) {
      const bool seen =
          std::any_of(rules.begin(), rules.end(), [&](const Rule& o) { return same_key(o, r); });
      if (!seen) rules.push_back(std::move(r));
    }
  };
  add(metadata_rules());
  add(multicast_rules());
  add(cidr_rules(cidrs));
  add(host_address_rules(host));
  return rules;
}

namespace {

bool has_key(const std::vector<Rule>& rules, const Rule& r) {
  return std::any_of(rules.begin(), rules.end(), [&](const Rule& o) { return same_key(o, r); });
}

}  // namespace

RuleUpdate replace_rules(const std::vector<Rule>& current, const std::vector<Rule>& wanted) {
  RuleUpdate update;
  update.insert = wanted;
  for (const Rule& r : current)
    if (!has_key(wanted, r)) update.erase.push_back(r);
  return update;
}

RuleUpdate replace_host_rules(const std::vector<Rule>& current, const std::vector<Rule>& host) {
  std::vector<Rule> policy;
  for (const Rule& r : current)
    if (r.kind != OJH_RULE_HOST_ADDR) policy.push_back(r);
  RuleUpdate update;
  for (const Rule& r : host)
    if (!has_key(policy, r) && !has_key(update.insert, r)) update.insert.push_back(r);
  for (const Rule& r : current)
    if (r.kind == OJH_RULE_HOST_ADDR && !has_key(update.insert, r)) update.erase.push_back(r);
  return update;
}

std::string format_rule(const Rule& rule) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(rule.family, rule.bytes.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(rule.prefixlen) + " (" + rule.origin + ")";
}

}  // namespace ojh
