// SPDX-License-Identifier: Apache-2.0
#pragma once

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
//   annotation-exceptions = true       # false: jail.block-host.allow is refused (clusters
//                                      # where the admin, not the pod author, decides)
//   ignore-interfaces = kube-ipvs0     # repeatable; host interfaces whose addresses are
//                                      # not host services (default: kube-ipvs0, where
//                                      # kube-proxy in IPVS mode puts every Service IP)
//   pin-dir = /sys/fs/bpf/oci-jail-hook
//   log-level = info                   # error | warning | info | debug
enum class LogLevel { Error, Warning, Info, Debug };

struct AdminConfig {
  bool fail_open = false;
  std::vector<Cidr> block_cidrs;
  std::vector<Exception> allow;
  std::vector<std::string> allow_capabilities;  // from kBypassCapabilities
  bool annotation_exceptions = true;
  std::vector<std::string> ignore_interfaces = {"kube-ipvs0"};
  std::optional<std::string> pin_dir;
  LogLevel log_level = LogLevel::Info;
};

inline constexpr std::string_view kDefaultAdminConfigPath = "/etc/containers/oci-jail-hook.conf";
inline constexpr std::size_t kMaxAdminConfigBytes = 256 * 1024;

// Parses the text (Boost.Program_options config-file syntax: `key = value`, `#` comments).
// Unknown keys and bad values are errors naming the key: "oci-jail-hook.conf: block-cidrs:
// entry \"10.0.0.1/8\": ...".
AdminConfig parse_admin_config(std::string_view text, std::string_view source);

// Reads and parses `path`. The file must be a regular file owned by root and not writable
// by group or others (a config anyone could edit would hand them every container). A
// missing file is the default configuration only when `required` is false.
AdminConfig load_admin_config(const std::string& path, bool required);

}  // namespace ojh
