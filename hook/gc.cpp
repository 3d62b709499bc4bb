// SPDX-License-Identifier: Apache-2.0
#include <cstdio>

#include "hook/attach_client.hpp"
#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/enforcement.hpp"
#include "hook/logging.hpp"
#include "hook/pin_dir.hpp"
#include "hook/shared_objects.hpp"

namespace ojh {

int run_gc(const Options& opts, std::optional<uid_t> owner) {
  if (opts.rootless) return run_through_attach_service(opts, {AttachCommand::Gc, ""});
  restrict_capabilities(CapabilitySet::kAttachMounted);
  GcResult result;
  if (const auto pins = PinDir::open_existing(opts.pin_dir)) {
    const Fd lock = pins->lock_exclusive();
    // Also when no shared objects were ever published: a hook killed while pinning them
    // leaves them (loaded) in a staging directory.
    pins->remove_stale_staging();
    SharedObjects objs;
    if (SharedObjects::open_existing(*pins, objs)) result = collect_garbage(*pins, objs, owner);
  }
  for (const std::string& id : result.released)
    log_info(id, "gc: cgroup gone, released its pins and rules");
  restrict_capabilities(CapabilitySet::kNone);
  std::printf(
      "gc: released %zu container%s whose cgroup is gone, removed %zu orphaned rule set%s\n",
      result.released.size(), result.released.size() == 1 ? "" : "s", result.orphan_policies,
      result.orphan_policies == 1 ? "" : "s");
  return 0;
}

}  // namespace ojh
