// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "hook/event_format.hpp"

namespace ojh {

// One jail.block-host.allow entry that would have let a recorded destination through.
struct AdviceEntry {
  std::string entry;      // "tcp:10.0.0.1:5432", "udp:[fd00::1]:53"
  std::size_t count = 0;  // records it covers
  std::string warning;    // "" or what the entry opens that a person should think twice about
};

struct PolicyAdvice {
  std::vector<AdviceEntry> entries;  // sorted by entry, no duplicates
  // Records no allow entry can cover (ICMP, raw IP, sockets refused at creation: the
  // annotation names TCP and UDP ports only), one line each: "icmp 10.0.0.1 (egress), 3x".
  std::vector<std::string> not_allowable;
  std::string annotation;  // jail.block-host.allow=<entries joined by ','>; "" without any
  bool too_many = false;   // more entries than one annotation may hold (kMaxExceptions)
};

// The smallest jail.block-host.allow that would have allowed what the records show (each
// destination exactly, never a wildcard): what audit mode recorded as `audited`, and
// enforce mode as `denied`. Pure; `oci-jail-hook advise` feeds it a container's records.
PolicyAdvice advise_allow(const std::vector<EventView>& records);

}  // namespace ojh
