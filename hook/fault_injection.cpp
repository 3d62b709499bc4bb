// SPDX-License-Identifier: Apache-2.0
// Fault injection for the crash-safety tests (tests/e2e/test_faults.sh), linked only into the
// test build oci-jail-hook-faults: with OJH_FAULT_KILL_AT=<phase> in its environment the hook
// dies right after that phase, as a SIGKILL from a runtime's hook timeout would kill it. The
// installed hook must not obey an environment variable that whoever sets a hook's env (a
// hooks.d file, a runtime's config) could use to stop it half-way, so none of this is in it.
#ifndef OJH_FAULT_INJECTION
#error "fault injection belongs to the test build only (tests/e2e/test_faults.sh)"
#endif

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "hook/bpf_lsm.hpp"
#include "hook/phase_timer.hpp"

namespace {

void kill_at(const char* name) {
  if (const char* at = std::getenv("OJH_FAULT_KILL_AT"); at && std::strcmp(at, name) == 0)
    ::raise(SIGKILL);
}

// Installed before main() runs: main.cpp is shared with the installed binary unchanged.
const bool installed = (ojh::PhaseTimer::instance().set_observer(kill_at), true);

// OJH_FAULT_BPF_LSM=inactive: behave as on a host without the BPF LSM (tests/e2e/
// test_raw_sockets.sh tests that path on a host that has it).
const bool lsm_overridden = [] {
  const char* v = std::getenv("OJH_FAULT_BPF_LSM");
  if (!v || std::strcmp(v, "inactive") != 0) return false;
  ojh::override_bpf_lsm({false, "the BPF LSM is not active (OJH_FAULT_BPF_LSM=inactive)"});
  return true;
}();

}  // namespace
