// SPDX-License-Identifier: Apache-2.0
// The keys a container holds in the shared maps, recorded in its pin entry so that poststop
// deletes them one by one, in O(own keys): neither an LPM trie nor a hash map can list one
// policy's keys without walking every container's (hook/map_walk.hpp).
//
// The record is one or more symlinks `keys-<n>` (bpffs holds no plain files; a symlink
// target holds at most PATH_MAX - 1 bytes, so a large policy takes several). What the entry
// records is the union of every `keys-<n>` in it. A change of the container's keys
// (create-runtime run again, `refresh`) writes the new set under fresh numbers first, then
// changes the maps, then removes the old numbers: at every moment, and after a hook killed
// at any point, the records name every key the maps hold for the entry (a superset at
// worst, whose extra keys are simply not found when they are deleted).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hook/rules.hpp"
#include "oci/policy.hpp"

namespace ojh {

// Only the key fields matter: a rule's family, address and prefix length (not its kind or
// origin), an exception's protocol, port and address.
struct OwnKeys {
  std::vector<Rule> rules;
  std::vector<Exception> exceptions;

  bool operator==(const OwnKeys&) const = default;
};

// The text of the records, split between tokens into pieces that each fit one symlink.
std::vector<std::string> format_key_records(const OwnKeys& keys);
// Adds the keys of one record's text to `into`; false (and `into` unchanged) when the text
// is not one this version wrote.
bool parse_key_record(std::string_view text, OwnKeys& into);

// The union of the entry's `keys-<n>` records; nullopt when it has none (an entry made by
// an earlier version) or one does not parse: the caller then walks the maps instead.
std::optional<OwnKeys> read_own_keys(const std::string& entry_dir);

// Records `keys` as the entry's keys around `change`, which brings the maps to them: the
// new records are written before it and the old ones removed after it returns. When it
// throws, both stay (their union still covers whatever the maps hold).
void record_own_keys(const std::string& entry_dir, const OwnKeys& keys,
                     const std::function<void()>& change);

}  // namespace ojh
