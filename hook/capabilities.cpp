// SPDX-License-Identifier: Apache-2.0
#include "hook/capabilities.hpp"

#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include <cerrno>

#include "oci/error.hpp"

namespace ojh {

void restrict_capabilities(CapabilitySet set) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw Error("set no_new_privs", errno);

  capng_get_caps_process();
  const bool can_drop_bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
  capng_clear(can_drop_bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS);
  if (set != CapabilitySet::kNone) {
    const auto type = static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED);
    if (capng_updatev(CAPNG_ADD, type, CAP_BPF, CAP_NET_ADMIN, -1) != 0)
      throw Error("prepare capability set");
    if (set == CapabilitySet::kAttach && capng_update(CAPNG_ADD, type, CAP_SYS_ADMIN) != 0)
      throw Error("prepare capability set");
    if (can_drop_bounding &&
        capng_updatev(CAPNG_ADD, CAPNG_BOUNDING_SET, CAP_BPF, CAP_NET_ADMIN,
                      set == CapabilitySet::kAttach ? CAP_SYS_ADMIN : CAP_BPF, -1) != 0)
      throw Error("prepare bounding set");
  }
  if (int rc = capng_apply(can_drop_bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS); rc != 0)
    throw Error("drop capabilities (capng_apply returned " + std::to_string(rc) + ")");
}

}  // namespace ojh
