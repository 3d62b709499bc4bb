// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <vector>

namespace ojh {

// The hook runs as root on input partly written by whoever starts the container, so it
// gives up everything it does not need before it reads that input.
enum class CapabilitySet {
  // CAP_BPF (create maps, load programs, pin/open objects), CAP_NET_ADMIN (cgroup sock_addr
  // programs are networking programs: loading and attaching them needs it), CAP_SYS_ADMIN
  // (enter the container's cgroup namespace to find its root; mount bpffs when it is not
  // mounted yet) and CAP_SYS_PTRACE (open /proc/<pid>/ns/cgroup of a runtime's process,
  // which may not be dumpable); the last two are dropped once the cgroup is resolved and
  // bpffs is mounted.
  kAttach,
  // Everything above but CAP_SYS_ADMIN.
  kAttachMounted,
  // Nothing: reading maps/pins for status, printing output.
  kNone,
};

// The attach service reads rootless users' bundles and resolv.conf files, which podman keeps
// below directories of mode 0700 (their owner-only homes and runtime directories): from
// this call on, the sets above also keep CAP_DAC_READ_SEARCH, where it is permitted. The
// service opens only files the requesting user owns (hook/regular_file.hpp); the rootful
// hook never calls this.
void keep_read_search_for_users_files();

// Some optional programs (kPrograms entries with a KernelNeed: the lsm_cgroup program, the
// AF_UNIX programs that read the kernel's socket address) load only for CAP_PERFMON. From
// this call on the attach sets also keep CAP_PERFMON, in the permitted set only (and in the
// bounding set): it is effective solely while those programs are verified
// (PerfmonForOptionalPrograms), so the other programs keep the verifier's Spectre hardening,
// and it is dropped once the objects are open.
void keep_perfmon_for_optional_programs();
// Drops CAP_PERFMON from every set but the bounding set (which needs CAP_SETPCAP, gone by
// then). Idempotent; nothing happens when it was never kept.
void drop_perfmon();

// Makes a permitted CAP_PERFMON effective for the lifetime of the object.
class PerfmonForOptionalPrograms {
 public:
  PerfmonForOptionalPrograms();
  ~PerfmonForOptionalPrograms();
  PerfmonForOptionalPrograms(const PerfmonForOptionalPrograms&) = delete;
  PerfmonForOptionalPrograms& operator=(const PerfmonForOptionalPrograms&) = delete;
};

// Reduces effective, permitted and inheritable sets (and the bounding set, the first time,
// while CAP_SETPCAP is still held) and sets no_new_privs. Only ever narrows.
void restrict_capabilities(CapabilitySet set);

// --show-capabilities: print the Cap* and NoNewPrivs lines of /proc/self/status at each
// phase, so the documented sequence can be checked (tests/e2e/test_privileges.sh).
void show_capabilities(bool enabled);
void report_capabilities(const char* phase);

}  // namespace ojh
