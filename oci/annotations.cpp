// SPDX-License-Identifier: Apache-2.0
#include "oci/annotations.hpp"

#include <algorithm>

#include "oci/error.hpp"
#include "oci/quote.hpp"

namespace ojh {
namespace {

std::string known_list() {
  std::string list;
  for (const auto key : kKnownAnnotations) {
    if (!list.empty()) list += ", ";
    list += key;
  }
  return list;
}

}  // namespace

void check_known_annotations(const Annotations& annotations) {
  const std::string prefix = std::string(kBlockHostAnnotation) + ".";
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with(prefix)) continue;
    if (std::find(kKnownAnnotations.begin(), kKnownAnnotations.end(), key) !=
        kKnownAnnotations.end()) {
      continue;
    }
    throw Error("unknown annotation " + quote_untrusted(key) + " (known: " + known_list() + ")");
  }
}

BlockHost block_host_mode(const Annotations& annotations) {
  check_known_annotations(annotations);
  const auto it = annotations.find(std::string(kBlockHostAnnotation));
  if (it == annotations.end()) return BlockHost::Absent;
  if (it->second == "true") return BlockHost::Enforce;
  if (it->second == "false") return BlockHost::Off;
  throw Error("annotation " + std::string(kBlockHostAnnotation) + "=" +
              quote_untrusted(it->second) + " is invalid: expected \"true\" or \"false\"");
}

}  // namespace ojh
