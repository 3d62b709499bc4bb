// SPDX-License-Identifier: Apache-2.0
#include "hook/exception_map.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpf/block_host_abi.h"
#include "hook/map_walk.hpp"
#include "hook/rule_maps.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

ojh_exception_key key_of(std::uint64_t policy_id, const Exception& e) {
  ojh_exception_key_words key{};
  ojh_exception_key_set(&key, policy_id, static_cast<__u8>(e.protocol),
                        e.any_host_address ? 0 : static_cast<__u8>(e.address.family), htons(e.port),
                        e.address.bytes.data());
  return key.key;
}

constexpr const char* kExceptions = "BPF exception map";

Exception exception_of(const ojh_exception_key& key) {
  Exception e{};
  e.protocol = key.protocol;
  e.port = ntohs(key.port);
  e.any_host_address = key.family == 0;
  if (!e.any_host_address) {
    e.address.family = key.family;
    std::memcpy(e.address.bytes.data(), key.addr, key.family == AF_INET ? 4 : 16);
  }
  return e;
}

}  // namespace

void ExceptionMap::insert(std::uint64_t policy_id, const std::vector<Exception>& exceptions) const {
  const __u8 one = 1;
  for (const Exception& e : exceptions) {
    const ojh_exception_key key = key_of(policy_id, e);
    if (bpf_map_update_elem(fd_, &key, &one, BPF_ANY) != 0)
      throw_insert_error("add exception " + format_exception(e), errno);
  }
}

std::size_t ExceptionMap::erase(std::uint64_t policy_id) const {
  std::size_t n = 0;
  for (const auto& key : keys_of<ojh_exception_key>(fd_, kExceptions, policy_id)) {
    if (bpf_map_delete_elem(fd_, &key) != 0 && errno != ENOENT)
      throw Error("delete exception", errno);
    ++n;
  }
  return n;
}

std::vector<Exception> ExceptionMap::list(std::uint64_t policy_id) const {
  std::vector<Exception> out;
  for (const auto& key : keys_of<ojh_exception_key>(fd_, kExceptions, policy_id))
    out.push_back(exception_of(key));
  return out;
}

std::map<std::uint64_t, std::vector<Exception>> ExceptionMap::list_all() const {
  std::map<std::uint64_t, std::vector<Exception>> out;
  walk_keys<ojh_exception_key>(fd_, kExceptions, [&](const ojh_exception_key& k) {
    out[policy_of(k)].push_back(exception_of(k));
  });
  return out;
}

std::map<std::uint64_t, std::size_t> ExceptionMap::entry_counts() const {
  std::map<std::uint64_t, std::size_t> counts;
  walk_keys<ojh_exception_key>(fd_, kExceptions,
                               [&](const ojh_exception_key& k) { ++counts[policy_of(k)]; });
  return counts;
}

void ExceptionMap::replace(std::uint64_t policy_id, const std::vector<Exception>& wanted) const {
  replace(policy_id, list(policy_id), wanted);
}

void ExceptionMap::replace(std::uint64_t policy_id, const std::vector<Exception>& current,
                           const std::vector<Exception>& wanted) const {
  insert(policy_id, wanted);
  std::vector<Exception> stale;
  for (const Exception& e : current) {
    const ojh_exception_key key = key_of(policy_id, e);
    const bool kept = std::any_of(wanted.begin(), wanted.end(), [&](const Exception& w) {
      const ojh_exception_key k = key_of(policy_id, w);
      return std::memcmp(&k, &key, sizeof(key)) == 0;
    });
    if (!kept) stale.push_back(e);
  }
  erase_each(policy_id, stale);
}

void ExceptionMap::erase_each(std::uint64_t policy_id,
                              const std::vector<Exception>& exceptions) const {
  for (const Exception& e : exceptions) {
    const ojh_exception_key key = key_of(policy_id, e);
    if (bpf_map_delete_elem(fd_, &key) != 0 && errno != ENOENT)
      throw Error("delete exception " + format_exception(e), errno);
  }
}

}  // namespace ojh
