// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hook/rules.hpp"

namespace ojh {

// A failed insert into a shared map. A full map (ENOSPC from an LPM trie, E2BIG from a hash)
// is what every container together holds, not an environment failure: a Refusal.
[[noreturn]] void throw_insert_error(const std::string& what, int err);

// The shared LPM tries, viewed per policy id (a container's cgroup id).
class RuleMaps {
 public:
  RuleMaps(int rules4_fd, int rules6_fd) : rules4_(rules4_fd), rules6_(rules6_fd) {}

  void insert(std::uint64_t policy_id, const std::vector<Rule>& rules) const;
  // Deletes every rule of the policy; returns how many were removed.
  std::size_t erase(std::uint64_t policy_id) const;
  std::vector<Rule> list(std::uint64_t policy_id) const;  // walks the whole map
  // Every policy's rules in one walk: listing N containers one by one would walk N times.
  std::map<std::uint64_t, std::vector<Rule>> list_all() const;
  void erase_one(std::uint64_t policy_id, const Rule& rule) const;
  void erase_each(std::uint64_t policy_id, const std::vector<Rule>& rules) const;
  // Inserts, then erases (see RuleUpdate): never a moment without a rule that stays.
  void apply(std::uint64_t policy_id, const RuleUpdate& update) const;
  // The number of rules of every policy that has at least one, in one walk of the map.
  std::map<std::uint64_t, std::size_t> entry_counts() const;

 private:
  // fn(key tag, fd, name) for the IPv4 trie, then the IPv6 one: the tag's type is the key's.
  template <typename Fn>
  void each_trie(Fn fn) const;

  int rules4_;
  int rules6_;
};

}  // namespace ojh
