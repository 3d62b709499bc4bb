// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "oci/cgroup.hpp"

namespace ojh {

// resolve_container_cgroup over <proc_root>/self/mountinfo, <proc_root>/<pid>/cgroup and
// <proc_root>/self/cgroup. proc_root is a parameter so that tests can fake /proc.
CgroupTarget resolve_container_cgroup_for_pid(pid_t pid, const std::string& proc_root = "/proc");

// resolve_container_cgroup_for_pid for the cgroup at `host_path` instead of the pid's own
// (same mount lookup and the same refusals).
CgroupTarget resolve_cgroup_path(const std::string& host_path,
                                 const std::string& proc_root = "/proc");

// The cgroup `pid` is in, as its own cgroup namespace shows it (/proc/<pid>/cgroup read
// from inside that namespace), or nullopt when it shares the caller's cgroup namespace.
// Needs CAP_SYS_ADMIN (setns); the caller's namespace is restored before returning.
std::optional<std::string> cgroup_path_in_own_namespace(pid_t pid);

// The cgroup to enforce for the container process `pid`: the root of its cgroup namespace
// when it has one, else its own cgroup; with the refusals of resolve_container_cgroup.
CgroupTarget container_cgroup(pid_t pid);

}  // namespace ojh
