// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include "hook/commands.hpp"
#include "oci/cgroup.hpp"
#include "oci/config.hpp"
#include "oci/policy.hpp"
#include "oci/state.hpp"

namespace ojh {

// A container create-runtime is to enforce, found by whoever may be trusted with it: the
// hook itself for a rootful runtime, the attach service (from the kernel's facts) for a
// rootless user's.
struct ContainerToEnforce {
  const State& state;
  pid_t init_pid = 0;  // in this process's pid namespace
  CgroupTarget cgroup;
  BundleConfig config;
  uid_t owner_uid = 0;  // the rootless user it belongs to; 0: root's
};

// The checks and the enforcement every create-runtime ends with, fail-open included.
// `policy` comes from the state's annotations under the admin config. Returns the exit
// status; throws ojh::Error for the one-line refusal.
int create_runtime_for(const Options& opts, const ContainerToEnforce& container,
                       const ContainerPolicy& policy);

}  // namespace ojh
