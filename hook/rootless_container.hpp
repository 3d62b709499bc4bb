// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include "oci/cgroup.hpp"

namespace ojh {

// A rootless user's container, as the attach service found it from the kernel's own facts,
// not from anything the user's hook said.
struct RootlessContainer {
  pid_t pid = 0;  // in the service's pid namespace
  CgroupTarget cgroup;
};

// Checks that the process behind `pidfd` is a container of user `uid` that the service may
// enforce, and returns the cgroup to enforce: the process is in a user namespace that `uid`
// owns; the cgroup (the root of its cgroup namespace, as for rootful containers) lies
// strictly inside the tree systemd delegates to that user (user@<uid>.service/...) and is
// owned by the user; no process outside the container is in it or below it (never the
// user's manager, session or another cgroup shared with the user's other processes); and
// the process did not exit while it was checked, so the pid read was its own. Each refusal
// is an ojh::Error naming what failed. Needs CAP_SYS_PTRACE (namespaces of another user's
// processes) and CAP_SYS_ADMIN (entering the container's cgroup namespace).
RootlessContainer verify_rootless_container(uid_t uid, int pidfd);

}  // namespace ojh
