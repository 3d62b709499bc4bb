// SPDX-License-Identifier: Apache-2.0
#include "hook/rule_maps.hpp"

#include <bpf/bpf.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "hook/map_walk.hpp"
#include "oci/error.hpp"

namespace ojh {
void throw_insert_error(const std::string& what, int err) {
  if (err == ENOSPC || err == E2BIG)
    throw Refusal(what + ": the map every container's entries share is full (" +
                  std::strerror(err) + "); release stopped containers with `oci-jail-hook gc`");
  throw Error(what, err);
}

namespace {

constexpr const char* kRules4 = "BPF IPv4 rule map";
constexpr const char* kRules6 = "BPF IPv6 rule map";

template <typename Key>
Rule rule_from(const Key& k, const ojh_rule& v) {
  constexpr bool v4 = sizeof(k.addr) == 4;
  Rule r{};
  r.family = v4 ? AF_INET : AF_INET6;
  std::memcpy(r.bytes.data(), k.addr, sizeof(k.addr));
  r.prefixlen = k.prefixlen - OJH_POLICY_ID_BITS;
  r.kind = static_cast<ojh_rule_kind>(v.kind);
  return r;
}

// Calls fn(map fd, key) with the map and LPM key of rule r of policy_id.
template <typename Fn>
int with_key(int rules4, int rules6, std::uint64_t policy_id, const Rule& r, Fn fn) {
  if (r.family == AF_INET) {
    ojh_lpm_key4_words key{};
    ojh_key4_set(&key, policy_id, r.bytes.data(), r.prefixlen);
    return fn(rules4, &key.key);
  }
  ojh_lpm_key6_words key{};
  ojh_key6_set(&key, policy_id, r.bytes.data(), r.prefixlen);
  return fn(rules6, &key.key);
}

}  // namespace

template <typename Fn>
void RuleMaps::each_trie(Fn fn) const {
  fn(ojh_lpm_key4{}, rules4_, kRules4);
  fn(ojh_lpm_key6{}, rules6_, kRules6);
}

void RuleMaps::insert(std::uint64_t policy_id, const std::vector<Rule>& rules) const {
  for (const Rule& r : rules) {
    const ojh_rule value{static_cast<__u32>(r.kind), 0};
    const int rc = with_key(rules4_, rules6_, policy_id, r, [&](int fd, const void* key) {
      return bpf_map_update_elem(fd, key, &value, BPF_ANY);
    });
    if (rc != 0) throw_insert_error("add rule " + format_rule(r), errno);
  }
}

std::size_t RuleMaps::erase(std::uint64_t policy_id) const {
  std::size_t n = 0;
  each_trie([&](auto tag, int fd, const char* what) {
    using Key = decltype(tag);
    for (const Key& key : keys_of<Key>(fd, what, policy_id)) {
      if (bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT)
        throw Error(std::string("delete from ") + what, errno);
      ++n;
    }
  });
  return n;
}

std::vector<Rule> RuleMaps::list(std::uint64_t policy_id) const {
  std::vector<Rule> out;
  each_trie([&](auto tag, int fd, const char* what) {
    using Key = decltype(tag);
    ojh_rule value{};
    for (const Key& key : keys_of<Key>(fd, what, policy_id))
      if (bpf_map_lookup_elem(fd, &key, &value) == 0) out.push_back(rule_from(key, value));
  });
  return out;
}

std::map<std::uint64_t, std::vector<Rule>> RuleMaps::list_all() const {
  std::map<std::uint64_t, std::vector<Rule>> out;
  each_trie([&](auto tag, int fd, const char* what) {
    using Key = decltype(tag);
    ojh_rule value{};
    walk_keys<Key>(fd, what, [&](const Key& k) {
      if (bpf_map_lookup_elem(fd, &k, &value) == 0)
        out[policy_of(k)].push_back(rule_from(k, value));
    });
  });
  return out;
}

void RuleMaps::erase_one(std::uint64_t policy_id, const Rule& r) const {
  const int rc = with_key(rules4_, rules6_, policy_id, r,
                          [](int fd, const void* key) { return bpf_map_delete_elem(fd, key); });
  if (rc != 0 && errno != ENOENT) throw Error("delete rule " + format_rule(r), errno);
}

std::map<std::uint64_t, std::size_t> RuleMaps::entry_counts() const {
  std::map<std::uint64_t, std::size_t> counts;
  each_trie([&](auto tag, int fd, const char* what) {
    using Key = decltype(tag);
    walk_keys<Key>(fd, what, [&](const Key& k) { ++counts[policy_of(k)]; });
  });
  return counts;
}

void RuleMaps::apply(std::uint64_t policy_id, const RuleUpdate& update) const {
  insert(policy_id, update.insert);
  erase_each(policy_id, update.erase);
}

void RuleMaps::erase_each(std::uint64_t policy_id, const std::vector<Rule>& rules) const {
  std::optional<Error> first;
  for (const Rule& r : rules) {
    try {
      erase_one(policy_id, r);
    } catch (const Error& e) {
      if (!first) first = e;
    }
  }
  if (first) throw *first;
}

}  // namespace ojh
