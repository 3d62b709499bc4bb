// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace ojh {

// Whether this host can refuse raw and packet sockets per container with an lsm_cgroup
// program: the BPF LSM must be among the kernel's active LSMs (CONFIG_BPF_LSM alone is not
// enough: a program on a hook of an inactive LSM loads, attaches and never runs). Whether
// the kernel takes lsm_cgroup programs (6.0+) shows when the program loads.
struct BpfLsm {
  bool active = false;
  // Why not, for the refusal line and status: "the BPF LSM is not active (active: ...)".
  std::string reason;
};

// Read once per process, without privilege and without mounting anything: the kernel's
// lsm_list_modules(2) (6.8+), else /sys/kernel/security/lsm where securityfs is mounted.
// Where neither answers the LSM counts as inactive (CAP_NET_RAW is then refused: the safe
// side).
const BpfLsm& bpf_lsm();

// The test build oci-jail-hook-faults replaces the answer (hook/fault_injection.cpp) so the
// path of a host without the BPF LSM can be tested on one that has it; nothing in the
// installed hook calls this.
void override_bpf_lsm(const BpfLsm& state);

}  // namespace ojh
