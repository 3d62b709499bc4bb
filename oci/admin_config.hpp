// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/policy.hpp"

namespace ojh {

// The host administrator's configuration: trusted (root-owned, not writable by anyone
// else), and the only place for settings that weaken protection for every container.
//
//   # /etc/containers/oci-jail-hook.conf
//   fail-open = false                  # true: an environment failure lets the container run
//   block-cidrs = 192.168.0.0/16       # repeatable; same syntax as jail.block-host.cidrs
//   allow = tcp:127.0.0.1:11434        # repeatable; same syntax as jail.block-host.allow
//   allow-capabilities = CAP_NET_RAW   # repeatable; accept containers that may hold it
//   annotation-exceptions = true       # false: annotations that weaken (allow, audit mode)
//                                      # are refused and DNS exceptions are made only for
//                                      # trusted nameservers (clusters where the admin, not
//                                      # the pod author, decides)
//   trusted-nameservers = 10.89.0.1    # repeatable; with annotation-exceptions = false, the
//                                      # resolvers besides the host's own whose port 53
//                                      # stays open (aardvark-dns, NodeLocal DNSCache)
//   enforce-all = false                # true: every container the hook runs for is
//                                      # enforced, annotated or not; jail.block-host=false
//                                      # and audit mode are refused
//   require-unix = false               # true: refuse containers when the kernel cannot
//                                      # judge AF_UNIX destinations (before Linux 6.7)
//   ignore-interfaces = kube-ipvs0     # repeatable; host interfaces whose addresses are
//                                      # not host services (default: kube-ipvs0, where
//                                      # kube-proxy in IPVS mode puts every Service IP)
//   user-max-containers = 64           # rootless containers one user may have enforced at
//                                      # once through the attach service (0: none)
//   user-max-map-entries = 8192        # rules and exceptions those containers may hold in
//                                      # the maps every container shares (65,536 entries)
//   pin-dir = /sys/fs/bpf/oci-jail-hook
//   log-level = info                   # error | warning | info | debug
enum class LogLevel { Error, Warning, Info, Debug };

struct AdminConfig {
  bool fail_open = false;
  std::vector<Cidr> block_cidrs;
  std::vector<Exception> allow;
  std::vector<std::string> allow_capabilities;  // from kBypassCapabilities
  bool annotation_exceptions = true;
  std::vector<AddressBytes> trusted_nameservers;  // only with annotation_exceptions false
  bool enforce_all = false;
  // Refuse containers when AF_UNIX destinations cannot be judged (a kernel before 6.7).
  bool require_unix = false;
  std::vector<std::string> ignore_interfaces = {"kube-ipvs0"};
  std::optional<std::string> pin_dir;
  LogLevel log_level = LogLevel::Info;
  std::size_t user_max_containers = 64;
  std::size_t user_max_map_entries = 8192;
};

inline constexpr std::string_view kDefaultAdminConfigPath = "/etc/containers/oci-jail-hook.conf";
inline constexpr std::size_t kMaxAdminConfigBytes = 256 * 1024;

// Parses the text (Boost.Program_options config-file syntax: `key = value`, `#` comments).
// Unknown keys and bad values are errors naming the key: "oci-jail-hook.conf: block-cidrs:
// entry \"10.0.0.1/8\": ...".
AdminConfig parse_admin_config(std::string_view text, std::string_view source);

}  // namespace ojh
