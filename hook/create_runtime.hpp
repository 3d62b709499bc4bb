// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <optional>

#include "hook/commands.hpp"
#include "oci/cgroup.hpp"
#include "oci/state.hpp"

namespace ojh {

// A container create-runtime is to enforce, found by whoever may be trusted with it: the
// hook itself for a rootful runtime, the attach service (from the kernel's facts) for a
// rootless user's.
struct ContainerToEnforce {
  const State& state;
  pid_t init_pid = 0;  // in this process's pid namespace
  CgroupTarget cgroup;
  uid_t owner_uid = 0;  // the rootless user it belongs to; 0: root's

  // Whose files (config.json, resolv.conf) may be read for it: the rootless user's own only.
  std::optional<uid_t> file_owner() const;
};

// What every create-runtime does once the switch asked for enforcement and the container's
// cgroup is known (enforcement_requested): bpffs ready, CAP_SYS_ADMIN and CAP_SYS_PTRACE
// dropped, then the policy (the state's annotations under the admin config) and config.json
// parsed and checked, and the container enforced, fail-open included. Returns the exit
// status; throws ojh::Error for the one-line refusal.
int create_runtime_for(const Options& opts, const ContainerToEnforce& container);

}  // namespace ojh
