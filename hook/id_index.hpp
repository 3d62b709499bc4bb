// SPDX-License-Identifier: Apache-2.0
// Which entries hold a container id: poststop is given the id and not the cgroup (gone by
// then), and entries are named after the cgroup, so without this it would read the id
// record of every enforced container's entry (O(containers), about 3 us each).
//
// <pin-dir>/v1/ids/<pin_name(id)> is a record (a symlink) whose target names the id's
// entries, space-separated ("cgroup:1234 cgroup:5678"); "*" when they did not fit in one
// record. Written under the pin directory's lock, before the entry is published and after
// it is removed, so it names every entry of the id (a superset at worst: a name whose entry
// is gone is skipped, and gc drops it). Entries made by an earlier version are in no
// index: an id without a record, or with "*", is looked up by listing every entry, as
// before. (An earlier version's hook that enforces an id this version has indexed, in
// another runtime at the same time, makes an entry its poststop finds but this version's
// does not: `gc` releases it once its cgroup is gone.)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hook/pin_dir.hpp"

namespace ojh {

// The entry names recorded for `container_id`; nullopt when there is no record or it says
// "*" (then every entry must be listed).
std::optional<std::vector<std::string>> indexed_entries(const PinDir& pins,
                                                        const std::string& container_id);
// Adds `entry_name` to the record of `container_id` (idempotent).
void index_entry(const PinDir& pins, const std::string& container_id,
                 const std::string& entry_name);
// Removes `entry_name` from it, and the record once it names nothing.
void unindex_entry(const PinDir& pins, const std::string& container_id,
                   const std::string& entry_name);
// Drops the names whose entry is gone (a hook killed between the two steps), for gc.
void prune_id_index(const PinDir& pins);

}  // namespace ojh
