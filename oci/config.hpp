// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "oci/annotations.hpp"

namespace ojh {

// The few parts of the bundle's config.json the hook needs.
struct BundleConfig {
  std::optional<std::string> root_path;  // root.path (relative to the bundle or absolute)
  // Source of the last bind mount onto /etc/resolv.conf (podman, CRI-O and Docker-style
  // runtimes mount the nameserver file they generated there).
  std::optional<std::string> resolv_conf_source;
  // Every capability named in any set of process.capabilities (bounding, effective,
  // inheritable, permitted, ambient): what the container could ever hold.
  std::set<std::string> capabilities;
  bool has_cgroup_namespace = false;  // linux.namespaces has type "cgroup"
  // Mounts that expose a cgroup filesystem: type cgroup/cgroup2, or a bind mount whose
  // source lies at, under or above /sys/fs/cgroup, or may resolve anywhere (under /proc,
  // or relative and climbing with "..").
  struct CgroupMount {
    std::string destination;
    bool bind = false;
    // Every cgroup mount it shows is read-only: "ro" (or "rro"), and for an rbind of a
    // source that may hold the cgroup mount below its top, "rro".
    bool read_only = false;
    bool source_unknown = false;  // under /proc or climbing: where it leads is not known
    bool top_read_only = false;   // "ro" on an rbind without "rro": mounts below stay writable
  };
  std::vector<CgroupMount> cgroup_mounts;
  Annotations annotations;
};

inline constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;
// Real configs nest about 6 deep (linux.seccomp.syscalls[].args[]); leave room.
inline constexpr unsigned kMaxConfigDepth = 64;

// Throws ojh::Error ("config.json: ...") when the parts read above are malformed, or
// linux.cgroupsPath or the network namespace (checked, not kept: docs/input-limits.md); other
// parts are not checked beyond being valid JSON.
BundleConfig parse_bundle_config(std::string_view json);

// The container's root directory on the host: root.path, relative to the bundle unless
// absolute; nullopt when config.json names none.
std::optional<std::string> container_root_dir(const BundleConfig& config,
                                              const std::string& bundle_dir);

}  // namespace ojh
