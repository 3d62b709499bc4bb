// SPDX-License-Identifier: Apache-2.0
#include "hook/capabilities.hpp"

#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
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

// The effective, permitted and inheritable sets as the kernel holds them. Read with capget
// alone: libcap-ng's capng_get_caps_process() (and capng_apply of the bounding set) also
// read /proc/self/status, 15-20 us a read, which the hook paid 17 times per create-runtime
// and 7 times per poststop (BENCHMARKS.md, "where a hook run spent its time"). The bounding set is
// read with PR_CAPBSET_READ where it is cut.
struct HeldCapabilities {
  std::uint64_t effective = 0;
  std::uint64_t permitted = 0;
  std::uint64_t inheritable = 0;

  static bool in(std::uint64_t set, unsigned cap) { return cap < 64 && (set >> cap & 1) != 0; }
};

HeldCapabilities read_held_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) throw Error("read the hook's capabilities", errno);
  auto join = [](std::uint32_t low, std::uint32_t high) { return std::uint64_t{high} << 32 | low; };
  return {join(data[0].effective, data[1].effective), join(data[0].permitted, data[1].permitted),
          join(data[0].inheritable, data[1].inheritable)};
}

// Makes libcap-ng's working copy of the three sets what the process holds, so that
// capng_update and capng_apply(CAPNG_SELECT_CAPS) change only what the caller asks for.
void load_into_capng(const HeldCapabilities& held) {
  capng_clear(CAPNG_SELECT_CAPS);
  for (unsigned cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    unsigned sets = 0;
    if (HeldCapabilities::in(held.effective, cap)) sets |= CAPNG_EFFECTIVE;
    if (HeldCapabilities::in(held.permitted, cap)) sets |= CAPNG_PERMITTED;
    if (HeldCapabilities::in(held.inheritable, cap)) sets |= CAPNG_INHERITABLE;
    if (sets != 0 && capng_update(CAPNG_ADD, static_cast<capng_type_t>(sets), cap) != 0)
      throw Error("read the hook's capabilities");
  }
}

// Cuts the bounding set to `keep` (needs CAP_SETPCAP effective). Each drop commits new
// credentials, so a capability already out of the set (a unit's CapabilityBoundingSet) is
// not dropped again; PR_CAPBSET_READ tells, where libcap-ng would read /proc/self/status.
void cut_bounding_set(const std::vector<int>& keep) {
  for (int cap = 0;; ++cap) {
    const int held = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (held < 0 && errno == EINVAL) return;  // past the kernel's last capability
    if (held < 0) throw Error("read the bounding set", errno);
    if (held == 0 || std::find(keep.begin(), keep.end(), cap) != keep.end()) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) throw Error("cut the bounding set", errno);
  }
}

// Adds or removes CAP_PERFMON in the given sets of the process, leaving the rest as it is.
void update_perfmon(capng_act_t action, capng_type_t sets, const char* what) {
  load_into_capng(read_held_capabilities());
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

  const HeldCapabilities held = read_held_capabilities();
  const bool can_drop_bounding = HeldCapabilities::in(held.effective, CAP_SETPCAP);
  std::vector<int> wanted;
  if (set != CapabilitySet::kNone) wanted = {CAP_BPF, CAP_NET_ADMIN};
  if (set == CapabilitySet::kAttach) wanted.insert(wanted.end(), {CAP_SYS_ADMIN, CAP_SYS_PTRACE});
  if (set != CapabilitySet::kNone && g_read_search) wanted.push_back(CAP_DAC_READ_SEARCH);
  // Only ever narrows: what the process was started without (a unit's
  // CapabilityBoundingSet) stays out, and the step that needs it fails with its own cause.
  std::vector<int> kept;
  for (const int cap : wanted)
    if (HeldCapabilities::in(held.permitted, static_cast<unsigned>(cap))) kept.push_back(cap);
  // CAP_PERFMON stays permitted, not effective: see keep_perfmon_for_optional_programs.
  const bool perfmon =
      set != CapabilitySet::kNone && g_perfmon && HeldCapabilities::in(held.permitted, CAP_PERFMON);
  capng_clear(CAPNG_SELECT_CAPS);
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
  // final attach set right away (CAP_SETPCAP, needed to cut it, goes in the next step)
  // while CAP_SYS_ADMIN stays permitted for the bpffs mount.
  if (can_drop_bounding) {
    std::vector<int> bounding;
    if (set != CapabilitySet::kNone) bounding = {CAP_BPF, CAP_NET_ADMIN};
    if (set != CapabilitySet::kNone && g_perfmon) bounding.push_back(CAP_PERFMON);
    cut_bounding_set(bounding);
  }
  if (int rc = capng_apply(CAPNG_SELECT_CAPS); rc != 0)
    throw Error("drop capabilities (capng_apply returned " + std::to_string(rc) + ")");

  // Read back what the kernel now holds: the hook goes on only if no capability beyond
  // `kept` is left in any set, whatever libcap-ng reported.
  const HeldCapabilities now = read_held_capabilities();
  for (unsigned cap = 0; cap < 64; ++cap) {
    if (std::find(kept.begin(), kept.end(), static_cast<int>(cap)) != kept.end()) continue;
    for (const std::uint64_t which : {now.effective, now.permitted, now.inheritable})
      if (HeldCapabilities::in(which, cap)) {
        const char* name = capng_capability_to_name(cap);
        throw Error("capability " + (name ? std::string(name) : std::to_string(cap)) +
                    " still held after dropping it");
      }
  }
}

}  // namespace ojh
