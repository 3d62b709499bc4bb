// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "bpf/block_host_events.h"
#include "hook/shared_objects.hpp"

namespace ojh {

// The denial records the programs keep per container (bpf/block_host_events.h): read and
// released by cgroup id, in O(OJH_EVENT_SLOTS) map operations, never a walk over other
// containers' records.

// The container's last records (at most OJH_EVENT_SLOTS), oldest first.
std::vector<ojh_event> retained_events(const SharedObjects& objs, std::uint64_t cgroup_id);

// The container's rate-limit state; nullopt when it was never denied (or the objects
// predate records).
std::optional<ojh_event_state> event_state(const SharedObjects& objs, std::uint64_t cgroup_id);

// Every container that has a state, in one walk of the state hash (gc, metrics).
std::map<std::uint64_t, ojh_event_state> all_event_states(const SharedObjects& objs);

// Deletes the container's state and records; nothing when it has none.
void erase_event_records(const SharedObjects& objs, std::uint64_t cgroup_id);

// How many records the shared hash holds, in one walk (metrics).
std::size_t count_event_records(const SharedObjects& objs);

}  // namespace ojh
