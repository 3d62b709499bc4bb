// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "oci/cgroup.hpp"

namespace ojh {

// The cgroup `pid` is in, as its own cgroup namespace shows it (/proc/<pid>/cgroup read
// from inside that namespace), or nullopt when it shares the caller's cgroup namespace.
// Needs CAP_SYS_ADMIN (setns); the caller's namespace is restored before returning.
std::optional<std::string> cgroup_path_in_own_namespace(pid_t pid);

// The cgroup to enforce for the container process `pid`: the root of its cgroup namespace
// when it has one, else its own cgroup; with the refusals of resolve_container_cgroup.
CgroupTarget container_cgroup(pid_t pid);

}  // namespace ojh
