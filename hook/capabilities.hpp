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
  // It also keeps CAP_PERFMON, where the process holds it, in the permitted set only (see
  // ScopedPerfmon).
  kAttach,
  // kAttachMounted, and CAP_PERFMON kept permitted (not effective) for the load of the
  // BPF objects; dropped with the next restriction, once they are loaded or opened.
  kAttachLoad,
  // Everything above but CAP_SYS_ADMIN (and CAP_PERFMON).
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

// Reduces effective, permitted and inheritable sets (and the bounding set, the first time,
// while CAP_SETPCAP is still held) and sets no_new_privs. Only ever narrows.
void restrict_capabilities(CapabilitySet set);

// CAP_PERFMON in the effective set for the lifetime of the object, when the permitted set
// holds it (kAttach, kAttachLoad). The verifier lets a program read a kernel struct only
// for a loader with CAP_PERFMON, and the AF_UNIX programs read the socket address that way
// (bpf/block_host.bpf.c); everything else is verified without it, with the verifier's
// Spectre hardening on (docs/security.md).
class ScopedPerfmon {
 public:
  ScopedPerfmon();
  ~ScopedPerfmon();
  ScopedPerfmon(const ScopedPerfmon&) = delete;
  ScopedPerfmon& operator=(const ScopedPerfmon&) = delete;
  bool raised() const { return raised_; }

 private:
  bool raised_ = false;
  bool dropped_after_ = false;  // raised here, so lowered again at the end
};

// --show-capabilities: print the Cap* and NoNewPrivs lines of /proc/self/status at each
// phase, so the documented sequence can be checked (tests/e2e/test_privileges.sh).
void show_capabilities(bool enabled);
void report_capabilities(const char* phase);

}  // namespace ojh
