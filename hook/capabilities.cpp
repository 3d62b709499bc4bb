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

#include "oci/error.hpp"

namespace ojh {

namespace {
bool g_show = false;
}  // namespace

void show_capabilities(bool enabled) { g_show = enabled; }

void report_capabilities(const char* phase) {
  if (!g_show) return;
  std::ifstream status("/proc/self/status");
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

  capng_get_caps_process();
  const bool can_drop_bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
  capng_clear(can_drop_bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS);
  if (set != CapabilitySet::kNone) {
    const auto type = static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED);
    if (capng_updatev(CAPNG_ADD, type, CAP_BPF, CAP_NET_ADMIN, -1) != 0)
      throw Error("prepare capability set");
    if (set == CapabilitySet::kAttach &&
        capng_updatev(CAPNG_ADD, type, CAP_SYS_ADMIN, CAP_SYS_PTRACE, -1) != 0)
      throw Error("prepare capability set");
    // The bounding set only limits what a later execve could gain, so it can be cut to the
    // final attach set right away (CAP_SETPCAP, needed to cut it, goes in the same step)
    // while CAP_SYS_ADMIN stays permitted for the bpffs mount.
    if (can_drop_bounding &&
        capng_updatev(CAPNG_ADD, CAPNG_BOUNDING_SET, CAP_BPF, CAP_NET_ADMIN, -1) != 0)
      throw Error("prepare bounding set");
  }
  if (int rc = capng_apply(can_drop_bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS); rc != 0)
    throw Error("drop capabilities (capng_apply returned " + std::to_string(rc) + ")");
}

}  // namespace ojh
