// SPDX-License-Identifier: Apache-2.0
#include <cstdio>

#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/enforcement.hpp"
#include "hook/host_network.hpp"
#include "hook/logging.hpp"
#include "hook/pin_dir.hpp"
#include "hook/rules.hpp"
#include "hook/shared_objects.hpp"

namespace ojh {

// Host addresses change (DHCP, a new bridge, a VPN): re-read them in the caller's network
// namespace and rewrite the host-address rules of every running container enforced from
// that namespace. Nothing is re-attached; the programs see the new rules at once.
int run_refresh(const Options& opts) {
  restrict_capabilities(CapabilitySet::kAttachMounted);
  const auto pins = PinDir::open_existing(opts.pin_dir);
  std::size_t updated = 0;
  if (pins) {
    const std::uint64_t netns = current_netns_cookie();
    const Fd lock = pins->lock_exclusive();
    // Under the lock: two refreshes racing would otherwise apply their addresses in the
    // order they got the lock, not the order they read them, and leave the older set.
    const std::vector<Rule> host_rules =
        host_address_rules(without_interfaces(host_addresses(), opts.admin.ignore_interfaces));
    SharedObjects objs;
    if (SharedObjects::open_existing(*pins, objs))
      updated = refresh_host_rules(*pins, objs, netns, host_rules);
    log_info("", "refresh: " + std::to_string(host_rules.size()) + " host addresses applied to " +
                     std::to_string(updated) + " containers");
  }
  restrict_capabilities(CapabilitySet::kNone);
  std::printf("refreshed host addresses of %zu enforced container%s\n", updated,
              updated == 1 ? "" : "s");
  return 0;
}

}  // namespace ojh
