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
  BlockHost mode = BlockHost::Absent;
  if (it != annotations.end()) {
    if (it->second == "true") return BlockHost::Enforce;
    if (it->second != "false") {
      throw Error("annotation " + std::string(kBlockHostAnnotation) + "=" +
                  quote_untrusted(it->second) + " is invalid: expected \"true\" or \"false\"");
    }
    mode = BlockHost::Off;
  }
  // Only known keys are left in the namespace, so the key needs no quoting.
  const std::string prefix = std::string(kBlockHostAnnotation) + ".";
  const auto sub_key = annotations.lower_bound(prefix);
  if (sub_key != annotations.end() && sub_key->first.starts_with(prefix)) {
    throw Error("annotation " + sub_key->first + " is set but " +
                std::string(kBlockHostAnnotation) + " is not \"true\"");
  }
  return mode;
}

}  // namespace ojh
