// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>

#include "hook/attach_client.hpp"
#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/enforcement.hpp"
#include "hook/file.hpp"
#include "hook/logging.hpp"
#include "hook/pin_dir.hpp"
#include "hook/shared_objects.hpp"
#include "oci/state.hpp"

namespace ojh {

// Runs whatever the annotation says now: poststop must clean up even if the value was
// changed or is invalid, and it must be harmless when nothing was ever enforced. It
// releases only what belongs to the container the state names: another container may run
// with the same id under another runtime or store (see release()).
int poststop_for(const Options& opts, const State& state, uid_t owner) {
  restrict_capabilities(CapabilitySet::kAttachMounted);
  const std::string& container_id = state.id;
  const auto pins = PinDir::open_existing(opts.pin_dir);
  if (!pins) return 0;
  const Fd lock = pins->lock_exclusive();
  SharedObjects objs;
  if (!SharedObjects::open_existing(*pins, objs)) return 0;
  const ReleaseResult result = release(*pins, objs, {state.id, state.bundle, state.pid, owner});
  if (result) log_info(container_id, "released host block (links unpinned, rules removed)");
  if (result.kept)
    log_info(container_id, "left " + std::to_string(result.kept) +
                               " enforced container(s) with this id alone: another instance "
                               "(another runtime or store), or a cgroup that is not gone yet "
                               "(`oci-jail-hook gc` releases it once it is)");
  return 0;
}

int run_poststop(const Options& opts, std::string& container_id) {
  const std::string state_text = read_state_text(STDIN_FILENO);
  const State state = parse_state(state_text);
  container_id = state.id;
  if (opts.rootless) return run_through_attach_service(opts, {AttachCommand::Poststop, state_text});
  return poststop_for(opts, state, 0);
}

}  // namespace ojh
