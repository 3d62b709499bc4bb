// SPDX-License-Identifier: Apache-2.0
// Walking the shared maps every container's entries live in (rule tries, exceptions). Their
// keys start with the owning policy id, but neither an LPM trie nor a hash map has an index
// by prefix: finding one policy's keys is O(all entries). poststop, status and gc walk; no
// packet ever does.
#pragma once

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "oci/error.hpp"

namespace ojh {

// The policy id a key of the ABI (ojh_lpm_key4/6, ojh_exception_key) belongs to.
template <typename Key>
std::uint64_t policy_of(const Key& key) {
  return (std::uint64_t{key.policy_hi} << 32) | key.policy_lo;
}

// Calls visit(key) for every key of the map `fd`; `what` names the map in an error.
template <typename Key, typename Visit>
void walk_keys(int fd, const char* what, Visit visit) {
  Key cur{};
  Key next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    visit(next);
    cur = next;
    prev = &cur;
  }
  if (errno != ENOENT) throw Error(std::string("walk ") + what, errno);
}

template <typename Key>
std::vector<Key> keys_of(int fd, const char* what, std::uint64_t policy_id) {
  std::vector<Key> keys;
  walk_keys<Key>(fd, what, [&](const Key& k) {
    if (policy_of(k) == policy_id) keys.push_back(k);
  });
  return keys;
}

}  // namespace ojh
