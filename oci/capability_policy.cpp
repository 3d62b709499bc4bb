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
  // Runtimes written in C (crun) read names with libcap's cap_from_name(), which takes lower
  // case and numbers ("13", "0x0d"), and reads only the leading name or number: it stops at
  // the first byte that cannot continue it, so "cap_net_raw1", "13junk", "CAP_NET_RAW!" and,
  // as a C string, "cap_net_raw\0..." all grant CAP_NET_RAW. Judge what they grant. Blanks
  // in front and a missing CAP_ prefix (which libcap refuses) only ever make this refuse more.
  name = name.substr(0, name.find('\0'));
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front())))
    name.remove_prefix(1);
  if (!name.empty() && std::isdigit(static_cast<unsigned char>(name.front()))) {
    const unsigned long number = std::strtoul(std::string(name).c_str(), nullptr, 0);
    for (const auto& [bit, cap] : kBypassCapabilityBits)
      if (number == bit) return std::string(cap);
    return "CAP_#" + std::to_string(number);
  }
  std::string upper;
  for (const char c : name) {
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '_') break;
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return upper.starts_with("CAP_") ? upper : "CAP_" + upper;
}

std::vector<std::string> refused_capabilities(const std::set<std::string>& granted,
                                              const std::vector<std::string>& admin_allowed,
                                              const RawSocketGuard& raw) {
  std::set<std::string> canonical;
  for (const std::string& g : granted) canonical.insert(canonical_capability(g));
  std::vector<std::string> refused;
  for (const std::string_view cap : kBypassCapabilities) {
    if (!canonical.count(std::string(cap))) continue;
    if (raw.by_lsm && cap == "CAP_NET_RAW") continue;
    if (std::find(admin_allowed.begin(), admin_allowed.end(), cap) != admin_allowed.end()) continue;
    refused.emplace_back(cap);
  }
  return refused;
}

void check_capabilities(const std::set<std::string>& granted,
                        const std::vector<std::string>& admin_allowed, const RawSocketGuard& raw) {
  const auto refused = refused_capabilities(granted, admin_allowed, raw);
  if (refused.empty()) return;
  std::string list;
  std::string drops;
  for (const std::string& cap : refused) {
    list += (list.empty() ? "" : ", ") + cap;
    drops += " --cap-drop=" + cap.substr(4);
  }
  const bool net_raw = std::find(refused.begin(), refused.end(), "CAP_NET_RAW") != refused.end();
  const std::string no_lsm =
      net_raw && !raw.why_not.empty()
          ? "; CAP_NET_RAW's sockets cannot be refused instead: " + raw.why_not
          : std::string();
  throw Error("the container may hold " + list +
              ", which can get around cgroup BPF (see docs/policy.md)" + no_lsm +
              "; drop it (podman" + drops +
              ") or accept the risk in the admin config (allow-capabilities = " + refused[0] + ")");
}

void check_cgroup_mounts(const BundleConfig& config) {
  for (const auto& m : config.cgroup_mounts) {
    if (m.read_only) continue;
    if (m.bind || !config.has_cgroup_namespace)
      throw Error("the container mounts a writable cgroup filesystem at " +
                  quote_untrusted(m.destination) +
                  (!m.bind            ? " without a cgroup namespace of its own"
                   : m.source_unknown ? " (a bind mount of a path under /proc or outside the "
                                        "bundle, which may lead to the host's cgroup tree)"
                                      : " (a bind mount of the host's cgroup tree)") +
                  ", from where it could move out of the enforced cgroup; mount it read-only" +
                  (m.top_read_only ? " recursively (\"rro\": \"ro\" on an rbind leaves the "
                                     "mounts below it writable)"
                                   : ""));
  }
}

}  // namespace ojh
