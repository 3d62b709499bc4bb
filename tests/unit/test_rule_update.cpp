// SPDX-License-Identifier: Apache-2.0
// How a container's rules move from one set to the next while the programs read them: every
// rule of the new set is written before anything is deleted, and nothing the new set holds
// is deleted, so a destination blocked before and after is never let through in between.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "hook/rules.hpp"
#include "tests/support/catch.hpp"

namespace {

ojh::Rule rule(const char* text, unsigned prefixlen, ojh_rule_kind kind) {
  ojh::Rule r{};
  r.family = std::strchr(text, ':') ? AF_INET6 : AF_INET;
  REQUIRE(inet_pton(r.family, text, r.bytes.data()) == 1);
  r.prefixlen = prefixlen;
  r.kind = kind;
  return r;
}

ojh::Rule host(const char* text) {
  return rule(text, std::strchr(text, ':') ? 128 : 32, OJH_RULE_HOST_ADDR);
}

bool has_key(const std::vector<ojh::Rule>& rules, const ojh::Rule& r) {
  return std::any_of(rules.begin(), rules.end(),
                     [&](const ojh::Rule& o) { return ojh::same_key(o, r); });
}

// The properties every update must have, whatever the sets: the maps end up holding exactly
// `final_keys`, and no key of it is ever deleted.
void check_update(const ojh::RuleUpdate& u, const std::vector<ojh::Rule>& current,
                  const std::vector<ojh::Rule>& final_keys) {
  for (const ojh::Rule& e : u.erase) {
    CAPTURE(ojh::format_rule(e));
    CHECK_FALSE(has_key(u.insert, e));
    CHECK_FALSE(has_key(final_keys, e));
    CHECK(has_key(current, e));
  }
  for (const ojh::Rule& r : final_keys) {
    CAPTURE(ojh::format_rule(r));
    CHECK((has_key(u.insert, r) || (has_key(current, r) && !has_key(u.erase, r))));
  }
  for (const ojh::Rule& r : current) {
    CAPTURE(ojh::format_rule(r));
    CHECK((has_key(final_keys, r) || has_key(u.erase, r)));
  }
}

}  // namespace

TEST_CASE("a re-applied rule set is written whole before stale rules go", "[rules]") {
  const std::vector<ojh::Rule> current = {host("10.0.0.1"), host("10.0.0.2"), host("fd00::1"),
                                          rule("169.254.169.254", 32, OJH_RULE_METADATA)};
  const std::vector<ojh::Rule> wanted = {host("10.0.0.2"), host("10.0.0.3"), host("fd00::1"),
                                         rule("169.254.169.254", 32, OJH_RULE_METADATA)};
  const ojh::RuleUpdate u = ojh::replace_rules(current, wanted);
  CHECK(u.insert == wanted);
  REQUIRE(u.erase.size() == 1);
  CHECK(ojh::format_rule(u.erase[0]).rfind("10.0.0.1/32 ", 0) == 0);
  check_update(u, current, wanted);
}

TEST_CASE("a rule whose kind changes is overwritten, never deleted", "[rules]") {
  const std::vector<ojh::Rule> current = {host("10.200.0.67")};
  const std::vector<ojh::Rule> wanted = {rule("10.200.0.67", 32, OJH_RULE_CIDR)};
  const ojh::RuleUpdate u = ojh::replace_rules(current, wanted);
  CHECK(u.insert == wanted);
  CHECK(u.erase.empty());
}

TEST_CASE("re-applying the same rules deletes nothing", "[rules]") {
  const auto rules = ojh::container_rules({});
  const ojh::RuleUpdate u = ojh::replace_rules(rules, rules);
  CHECK(u.erase.empty());
  CHECK(u.insert == rules);
}

TEST_CASE("a refresh replaces host addresses and leaves the policy's rules alone", "[rules]") {
  const std::vector<ojh::Rule> current = {
      host("10.0.0.1"), host("10.0.0.2"), rule("169.254.169.254", 32, OJH_RULE_METADATA),
      rule("10.200.0.67", 32, OJH_RULE_CIDR), rule("224.0.0.0", 4, OJH_RULE_MULTICAST)};
  // The host now has 10.0.0.2, 10.0.0.9, and carries the metadata and cidr addresses itself.
  const std::vector<ojh::Rule> now = {host("10.0.0.2"), host("10.0.0.9"), host("169.254.169.254"),
                                      host("10.200.0.67"), host("10.0.0.9")};
  const ojh::RuleUpdate u = ojh::replace_host_rules(current, now);
  // Policy keys keep their kind: no host rule is written over them.
  CHECK_FALSE(has_key(u.insert, rule("169.254.169.254", 32, OJH_RULE_METADATA)));
  CHECK_FALSE(has_key(u.insert, rule("10.200.0.67", 32, OJH_RULE_CIDR)));
  CHECK(u.insert.size() == 2);  // 10.0.0.2 and 10.0.0.9, once
  REQUIRE(u.erase.size() == 1);
  CHECK(ojh::format_rule(u.erase[0]).rfind("10.0.0.1/32 ", 0) == 0);
  std::vector<ojh::Rule> final_keys(current.begin() + 1, current.end());
  final_keys.push_back(host("10.0.0.9"));
  check_update(u, current, final_keys);
  for (const ojh::Rule& e : u.erase) CHECK(e.kind == OJH_RULE_HOST_ADDR);
}

TEST_CASE("a refresh to no host addresses deletes only host rules", "[rules]") {
  const auto current = ojh::container_rules({});
  std::vector<ojh::Rule> with_host = current;
  with_host.push_back(host("10.0.0.1"));
  const ojh::RuleUpdate u = ojh::replace_host_rules(with_host, {});
  CHECK(u.insert.empty());
  REQUIRE(u.erase.size() == 1);
  CHECK(u.erase[0].kind == OJH_RULE_HOST_ADDR);
}
