// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ojh {

// The cgroup2 (unified) mount the hook sees: mountinfo field 5 and field 4, unescaped.
struct Cgroup2Mount {
  std::string mount_point;  // e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified on hybrid hosts
  std::string root;  // the cgroup shown at mount_point; "/" unless bind-mounted or namespaced

  bool operator==(const Cgroup2Mount&) const = default;
};

// The first cgroup2 line of a /proc/<pid>/mountinfo text whose mount is reachable through
// its mount point, i.e. not hidden by another mount on top of it or of a directory above it
// (mounting cgroup2 over a hybrid host's /sys/fs/cgroup tmpfs hides the old
// /sys/fs/cgroup/unified, which stays listed, first). nullopt when there is none.
std::optional<Cgroup2Mount> find_cgroup2_mount(std::string_view mountinfo);

// The path of the "0::" line of a /proc/<pid>/cgroup text, without a trailing " (deleted)";
// nullopt when there is none (pure cgroup v1). Several 0:: lines are an ojh::Error.
std::optional<std::string> unified_cgroup_path(std::string_view proc_pid_cgroup);

struct CgroupTarget {
  std::string path;     // relative to the cgroup2 root, e.g. /user.slice/x
  std::string fs_path;  // the cgroup's directory, e.g. /sys/fs/cgroup/user.slice/x

  bool operator==(const CgroupTarget&) const = default;
};

// Picks the container's cgroup to attach to. Security checks, each an ojh::Error: the root
// cgroup, the hook's own cgroup and its ancestors are refused (attaching there would cut
// the host off from itself); paths must be absolute, without empty, "." or ".." components,
// and visible below the mount's root.
CgroupTarget resolve_container_cgroup(std::string_view mountinfo,
                                      std::string_view container_proc_cgroup,
                                      std::string_view hook_proc_cgroup);

inline constexpr std::size_t kMaxMountinfoBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxProcCgroupBytes = 64 * 1024;

// The cgroup at the root of the container's cgroup namespace, from the process's cgroup as
// the host sees it ("/x/payload") and as the container sees it ("/payload"): "/x". A
// runtime may start the process in a sub-cgroup of the one it delegates (crun's
// run.oci.delegate-cgroup), and a process can move anywhere inside its namespace's root,
// so that root is what must be enforced. Throws ojh::Error when the two do not fit.
std::string cgroup_namespace_root(std::string_view host_path, std::string_view path_in_namespace);

// The cgroup systemd delegates to the service manager of user `uid` (user@<uid>.service,
// Delegate=yes): "/user.slice/user-<uid>.slice/user@<uid>.service".
std::string user_delegated_cgroup(unsigned uid);

// Whether `path` lies strictly below that cgroup: a cgroup the user's manager made for one
// of the user's units (a rootless container's libpod-<id>.scope), never the delegated
// cgroup itself. Paths as resolve_container_cgroup requires them (absolute, no "." or ".."
// components, no empty ones).
bool within_user_delegation(std::string_view path, unsigned uid);

}  // namespace ojh
