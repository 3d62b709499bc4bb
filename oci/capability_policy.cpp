// SPDX-License-Identifier: Apache-2.0
#include "oci/capability_policy.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "oci/config.hpp"
#include "oci/error.hpp"
#include "oci/quote.hpp"

namespace ojh {

std::string canonical_capability(std::string_view name) {
  // Runtimes read names with libcap's cap_from_name(), which also takes lower case, no
  // CAP_ prefix, surrounding blanks and numbers ("13", "0x0d"): judge what they grant.
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front())))
    name.remove_prefix(1);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
    name.remove_suffix(1);
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!upper.empty() && std::all_of(upper.begin(), upper.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) || c == 'X';
      })) {
    char* end = nullptr;
    const unsigned long number = std::strtoul(upper.c_str(), &end, 0);
    if (end && *end == '\0') {
      for (const auto& [bit, cap] : kBypassCapabilityBits)
        if (number == bit) return std::string(cap);
      return "CAP_#" + std::to_string(number);
    }
  }
  return upper.starts_with("CAP_") ? upper : "CAP_" + upper;
}

std::vector<std::string> refused_capabilities(const std::set<std::string>& granted,
                                              const std::vector<std::string>& admin_allowed) {
  std::set<std::string> canonical;
  for (const std::string& g : granted) canonical.insert(canonical_capability(g));
  std::vector<std::string> refused;
  for (const std::string_view cap : kBypassCapabilities) {
    if (!canonical.count(std::string(cap))) continue;
    if (std::find(admin_allowed.begin(), admin_allowed.end(), cap) != admin_allowed.end()) continue;
    refused.emplace_back(cap);
  }
  return refused;
}

void check_capabilities(const std::set<std::string>& granted,
                        const std::vector<std::string>& admin_allowed) {
  const auto refused = refused_capabilities(granted, admin_allowed);
  if (refused.empty()) return;
  std::string list;
  std::string drops;
  for (const std::string& cap : refused) {
    list += (list.empty() ? "" : ", ") + cap;
    drops += " --cap-drop=" + cap.substr(4);
  }
  throw Error("the container may hold " + list +
              ", which can get around cgroup BPF (see docs/policy.md); drop it (podman" + drops +
              ") or accept the risk in the admin config (allow-capabilities = " + refused[0] + ")");
}

void check_cgroup_mounts(const BundleConfig& config) {
  for (const auto& m : config.cgroup_mounts) {
    if (m.read_only) continue;
    if (m.bind || !config.has_cgroup_namespace)
      throw Error("the container mounts a writable cgroup filesystem at " +
                  quote_untrusted(m.destination) +
                  (m.bind ? " (a bind mount of the host's cgroup tree)"
                          : " without a cgroup namespace of its own") +
                  ", from where it could move out of the enforced cgroup; mount it read-only");
  }
}

}  // namespace ojh
