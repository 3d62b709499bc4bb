// SPDX-License-Identifier: Apache-2.0
#include "hook/capabilities.hpp"

#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "oci/error.hpp"

namespace ojh {

namespace {
bool g_show = false;
bool g_read_search = false;
bool g_perfmon = false;

// Adds or removes CAP_PERFMON in the given sets of the process, leaving the rest as it is.
void update_perfmon(capng_act_t action, capng_type_t sets, const char* what) {
  if (capng_get_caps_process() != 0) throw Error("read the hook's capabilities", errno);
  if (capng_update(action, sets, CAP_PERFMON) != 0 || capng_apply(CAPNG_SELECT_CAPS) != 0)
    throw Error(what);
}
}  // namespace

void keep_read_search_for_users_files() { g_read_search = true; }

void keep_perfmon_for_optional_programs() { g_perfmon = true; }

void drop_perfmon() {
  if (!g_perfmon) return;
  g_perfmon = false;
  update_perfmon(CAPNG_DROP, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                 "drop CAP_PERFMON");
}

PerfmonForOptionalPrograms::PerfmonForOptionalPrograms() {
  if (g_perfmon) update_perfmon(CAPNG_ADD, CAPNG_EFFECTIVE, "raise CAP_PERFMON");
}

PerfmonForOptionalPrograms::~PerfmonForOptionalPrograms() {
  try {
    if (g_perfmon) update_perfmon(CAPNG_DROP, CAPNG_EFFECTIVE, "lower CAP_PERFMON");
  } catch (const Error&) {
    // drop_perfmon() follows the load and fails loudly if the sets cannot be changed.
  }
}

void show_capabilities(bool enabled) { g_show = enabled; }

void report_capabilities(const char* phase) {
  if (!g_show) return;
  std::ifstream status("/proc/self/status");
  if (!status) {
    // The sequence is what test_privileges.sh checks: say so rather than print nothing.
    std::fprintf(stderr, "oci-jail-hook: capabilities at %s: /proc/self/status unreadable\n",
                 phase);
    return;
  }
  std::string line;
  std::string out;
  while (std::getline(status, line)) {
    if (line.rfind("Cap", 0) == 0 || line.rfind("NoNewPrivs", 0) == 0) {
      line.erase(std::remove(line.begin(), line.end(), '\t'), line.end());
      out += " " + line;
    }
  }
  std::fprintf(stderr, "oci-jail-hook: capabilities at %s:%s\n", phase, out.c_str());
}

void restrict_capabilities(CapabilitySet set) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw Error("set no_new_privs", errno);
  // Ambient capabilities would survive an execve; the hook never executes anything, and
  // keeps none to hand on.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    throw Error("clear ambient capabilities", errno);

  // libcap-ng works on a copy of the sets that capng_get_caps_process fills in: without it
  // the hook would not know whether it may cut the bounding set, and what it applies would
  // rest on whatever state the library kept from the failed read.
  if (capng_get_caps_process() != 0) throw Error("read the hook's capabilities", errno);
  const bool can_drop_bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
  std::vector<int> wanted;
  if (set != CapabilitySet::kNone) wanted = {CAP_BPF, CAP_NET_ADMIN};
  if (set == CapabilitySet::kAttach) wanted.insert(wanted.end(), {CAP_SYS_ADMIN, CAP_SYS_PTRACE});
  if (set != CapabilitySet::kNone && g_read_search) wanted.push_back(CAP_DAC_READ_SEARCH);
  // Only ever narrows: what the process was started without (a unit's
  // CapabilityBoundingSet) stays out, and the step that needs it fails with its own cause.
  std::vector<int> kept;
  for (const int cap : wanted)
    if (capng_have_capability(CAPNG_PERMITTED, static_cast<unsigned>(cap))) kept.push_back(cap);
  // CAP_PERFMON stays permitted, not effective: see keep_perfmon_for_optional_programs.
  const bool perfmon = set != CapabilitySet::kNone && g_perfmon &&
                       capng_have_capability(CAPNG_PERMITTED, CAP_PERFMON);
  capng_clear(can_drop_bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS);
  const auto type = static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED);
  for (const int cap : kept)
    if (capng_update(CAPNG_ADD, type, static_cast<unsigned>(cap)) != 0)
      throw Error("prepare capability set");
  if (perfmon) {
    if (capng_update(CAPNG_ADD, CAPNG_PERMITTED, CAP_PERFMON) != 0)
      throw Error("prepare capability set");
    kept.push_back(CAP_PERFMON);
  }
  // The bounding set only limits what a later execve could gain, so it can be cut to the
  // final attach set right away (CAP_SETPCAP, needed to cut it, goes in the same step)
  // while CAP_SYS_ADMIN stays permitted for the bpffs mount.
  if (set != CapabilitySet::kNone && can_drop_bounding &&
      capng_updatev(CAPNG_ADD, CAPNG_BOUNDING_SET, CAP_BPF, CAP_NET_ADMIN, -1) != 0)
    throw Error("prepare bounding set");
  if (set != CapabilitySet::kNone && can_drop_bounding && g_perfmon &&
      capng_update(CAPNG_ADD, CAPNG_BOUNDING_SET, CAP_PERFMON) != 0)
    throw Error("prepare bounding set");
  if (int rc = capng_apply(can_drop_bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS); rc != 0)
    throw Error("drop capabilities (capng_apply returned " + std::to_string(rc) + ")");

  // Read back what the kernel now holds: the hook goes on only if no capability beyond
  // `kept` is left in any set, whatever libcap-ng reported.
  if (capng_get_caps_process() != 0) throw Error("read the hook's capabilities", errno);
  for (unsigned cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (std::find(kept.begin(), kept.end(), static_cast<int>(cap)) != kept.end()) continue;
    for (const capng_type_t which : {CAPNG_EFFECTIVE, CAPNG_PERMITTED, CAPNG_INHERITABLE})
      if (capng_have_capability(which, cap) != 0) {
        const char* name = capng_capability_to_name(cap);
        throw Error("capability " + (name ? std::string(name) : std::to_string(cap)) +
                    " still held after dropping it");
      }
  }
}

}  // namespace ojh
