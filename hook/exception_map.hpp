// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "oci/policy.hpp"

namespace ojh {

// The shared exception hash map, viewed per policy id (a container's cgroup id).
class ExceptionMap {
 public:
  explicit ExceptionMap(int fd) : fd_(fd) {}

  void insert(std::uint64_t policy_id, const std::vector<Exception>& exceptions) const;
  std::size_t erase(std::uint64_t policy_id) const;  // returns how many were removed
  void erase_each(std::uint64_t policy_id, const std::vector<Exception>& exceptions) const;
  // The policy's exceptions become exactly `wanted`: the new ones are written before the
  // stale ones are deleted, so an exception that stays never blinks.
  void replace(std::uint64_t policy_id, const std::vector<Exception>& wanted) const;
  // The same, given what the map holds for the policy (`current`: a superset is fine), without
  // walking it.
  void replace(std::uint64_t policy_id, const std::vector<Exception>& current,
               const std::vector<Exception>& wanted) const;
  std::vector<Exception> list(std::uint64_t policy_id) const;  // walks the whole map
  // Every policy's exceptions in one walk.
  std::map<std::uint64_t, std::vector<Exception>> list_all() const;
  // The number of exceptions of every policy that has at least one, in one walk of the map.
  std::map<std::uint64_t, std::size_t> entry_counts() const;

 private:
  int fd_;
};

}  // namespace ojh
