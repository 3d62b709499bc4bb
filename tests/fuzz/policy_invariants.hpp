// SPDX-License-Identifier: Apache-2.0
// The documented properties of parsed policy (oci/policy.hpp), checked on every value a
// harness gets back: from the annotations, the admin config, a state or a config.json.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "oci/annotations.hpp"
#include "oci/error.hpp"
#include "oci/policy.hpp"

namespace ojh::fuzz {

inline bool is_v4_mapped(const AddressBytes& a) {
  return a.family == AF_INET6 &&
         std::all_of(a.bytes.begin(), a.bytes.begin() + 10, [](auto b) { return b == 0; }) &&
         a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

// A stored address: IPv4 or IPv6, bytes beyond the family zero, never v4-mapped (those are
// stored as IPv4 because the BPF programs judge them as IPv4).
inline void require_stored_address(const AddressBytes& a) {
  FUZZ_REQUIRE(a.family == AF_INET || a.family == AF_INET6);
  if (a.family == AF_INET) {
    FUZZ_REQUIRE(std::all_of(a.bytes.begin() + 4, a.bytes.end(), [](auto b) { return b == 0; }));
  }
  FUZZ_REQUIRE(!is_v4_mapped(a));
}

inline bool host_bits_clear(const AddressBytes& a, unsigned prefixlen) {
  for (unsigned bit = prefixlen; bit < a.bytes.size() * 8; ++bit) {
    if (a.bytes[bit / 8] & (0x80u >> (bit % 8))) return false;
  }
  return true;
}

template <typename T, typename Format>
std::string join(const std::vector<T>& items, Format format) {
  std::string text;
  for (const T& item : items) {
    if (!text.empty()) text += ',';
    text += format(item);
  }
  return text;
}

// Bounded, no duplicates, well-formed, and format_exception is what parse_exceptions reads
// back as the same list.
inline void require_valid_exceptions(const std::vector<Exception>& exceptions) {
  FUZZ_REQUIRE(exceptions.size() <= kMaxExceptions);
  for (std::size_t i = 0; i < exceptions.size(); ++i) {
    const Exception& e = exceptions[i];
    FUZZ_REQUIRE(e.protocol == IPPROTO_TCP || e.protocol == IPPROTO_UDP);
    FUZZ_REQUIRE(e.port != 0);
    if (e.any_host_address) {
      FUZZ_REQUIRE(e.address == AddressBytes{});
    } else {
      require_stored_address(e.address);
    }
    FUZZ_REQUIRE(std::find(exceptions.begin() + i + 1, exceptions.end(), e) == exceptions.end());
  }
  if (exceptions.empty()) return;
  const std::string formatted = join(exceptions, format_exception);
  FUZZ_REQUIRE(without_error([&] { return parse_exceptions(formatted); }) == exceptions);
}

// Bounded, no duplicate networks, host bits clear, a known origin, and format_cidr is what
// parse_cidrs reads back as the same networks (the origin becomes "annotation").
inline void require_valid_cidrs(const std::vector<Cidr>& cidrs) {
  FUZZ_REQUIRE(cidrs.size() <= kMaxCidrs);
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    const Cidr& c = cidrs[i];
    require_stored_address(c.address);
    FUZZ_REQUIRE(c.prefixlen <= (c.address.family == AF_INET ? 32u : 128u));
    FUZZ_REQUIRE(host_bits_clear(c.address, c.prefixlen));
    FUZZ_REQUIRE(c.origin == "annotation" || c.origin == "private");
    for (std::size_t j = i + 1; j < cidrs.size(); ++j) {
      FUZZ_REQUIRE(!(cidrs[j].address == c.address && cidrs[j].prefixlen == c.prefixlen));
    }
  }
  if (cidrs.empty()) return;
  const std::string formatted = join(cidrs, format_cidr);
  const std::vector<Cidr> again = without_error([&] { return parse_cidrs(formatted); });
  FUZZ_REQUIRE(again.size() == cidrs.size());
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    FUZZ_REQUIRE(again[i].address == cidrs[i].address);
    FUZZ_REQUIRE(again[i].prefixlen == cidrs[i].prefixlen);
    FUZZ_REQUIRE(again[i].origin == "annotation");
  }
}

inline const std::string* find_annotation(const Annotations& annotations, std::string_view key) {
  const auto it = annotations.find(std::string(key));
  return it == annotations.end() ? nullptr : &it->second;
}

// parse_container_policy on any annotation map: either an ojh::Error that is one printable
// line, or a policy that says exactly what the annotations say.
inline void check_container_policy(const Annotations& annotations) {
  ContainerPolicy policy;
  try {
    policy = parse_container_policy(annotations);
  } catch (const Error& e) {
    require_well_formed(e);
    return;
  }
  // Accepted: no unknown key in our namespace.
  const std::string sub_prefix = std::string(kBlockHostAnnotation) + ".";
  bool has_sub_key = false;
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with(sub_prefix)) continue;
    has_sub_key = true;
    FUZZ_REQUIRE(std::find(kKnownAnnotations.begin(), kKnownAnnotations.end(), key) !=
                 kKnownAnnotations.end());
    FUZZ_REQUIRE(value.size() <= kMaxJailAnnotationValueBytes);
  }

  const std::string* block_host = find_annotation(annotations, kBlockHostAnnotation);
  FUZZ_REQUIRE(policy.enforce == (block_host && *block_host == "true"));
  if (!policy.enforce) {
    // "false" or absent: nothing else may be set, and the policy is the default one.
    FUZZ_REQUIRE(!block_host || *block_host == "false");
    FUZZ_REQUIRE(!has_sub_key);
    FUZZ_REQUIRE(policy.mode == PolicyMode::Enforce && policy.allow_dns);
    FUZZ_REQUIRE(policy.exceptions.empty() && policy.cidrs.empty());
    return;
  }

  require_valid_exceptions(policy.exceptions);
  require_valid_cidrs(policy.cidrs);
  if (const std::string* allow = find_annotation(annotations, kBlockHostAllowAnnotation)) {
    FUZZ_REQUIRE(policy.exceptions == without_error([&] { return parse_exceptions(*allow); }));
  } else {
    FUZZ_REQUIRE(policy.exceptions.empty());
  }
  if (const std::string* cidrs = find_annotation(annotations, kBlockHostCidrsAnnotation)) {
    FUZZ_REQUIRE(policy.cidrs == without_error([&] { return parse_cidrs(*cidrs); }));
  } else {
    FUZZ_REQUIRE(policy.cidrs.empty());
  }
  const std::string* mode = find_annotation(annotations, kBlockHostModeAnnotation);
  FUZZ_REQUIRE(policy.mode == (mode && *mode == "audit" ? PolicyMode::Audit : PolicyMode::Enforce));
  FUZZ_REQUIRE(!mode || *mode == "audit" || *mode == "enforce");
  const std::string* dns = find_annotation(annotations, kBlockHostDnsAnnotation);
  FUZZ_REQUIRE(policy.allow_dns == !(dns && *dns == "false"));
  FUZZ_REQUIRE(!dns || *dns == "true" || *dns == "false");
}

// The bounds json::parse_annotations promises for a state's or a config.json's annotations.
inline void require_bounded_annotations(const Annotations& annotations) {
  FUZZ_REQUIRE(annotations.size() <= kMaxAnnotations);
  for (const auto& [key, value] : annotations) {
    FUZZ_REQUIRE(key.size() <= kMaxAnnotationKeyBytes);
    if (key.starts_with(kJailAnnotationPrefix)) {
      FUZZ_REQUIRE(value.size() <= kMaxJailAnnotationValueBytes);
    }
  }
}

}  // namespace ojh::fuzz
