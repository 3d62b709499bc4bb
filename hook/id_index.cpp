// SPDX-License-Identifier: Apache-2.0
#include "hook/id_index.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <sstream>

#include "oci/error.hpp"

namespace ojh {

namespace {

constexpr std::string_view kUnindexed = "*";

std::string ids_dir(const PinDir& pins) { return pins.version_dir() + "/ids"; }

std::vector<std::string> split_names(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> names;
  for (std::string name; in >> name;) names.push_back(name);
  return names;
}

// Writes the record of `container_id` as `names`, "*" when they do not fit in one symlink
// target, and removes it when they are none.
void write_index(const PinDir& pins, const std::string& container_id,
                 const std::vector<std::string>& names) {
  const std::string dir = ids_dir(pins);
  const std::string record = pin_name(container_id);
  if (names.empty()) {
    if (::unlink((dir + "/" + record).c_str()) != 0 && errno != ENOENT)
      throw Error("remove record " + dir + "/" + record, errno);
    // With no container left the layout is what it was before any (other records keep it).
    if (::rmdir(dir.c_str()) != 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
      throw Error("remove " + dir, errno);
    return;
  }
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : " ") + name;
  if (text.size() >= PATH_MAX) text = kUnindexed;
  make_private_dir(dir);
  write_record(dir, record, text);
}

}  // namespace

std::optional<std::vector<std::string>> indexed_entries(const PinDir& pins,
                                                        const std::string& container_id) {
  if (container_id.empty()) return std::nullopt;
  // No record (and no ids directory at all) reads as nullopt.
  const auto text = read_record(ids_dir(pins), pin_name(container_id));
  if (!text || *text == kUnindexed) return std::nullopt;
  return split_names(*text);
}

void index_entry(const PinDir& pins, const std::string& container_id,
                 const std::string& entry_name) {
  const auto text = read_record(ids_dir(pins), pin_name(container_id));
  if (text && *text == kUnindexed) return;
  std::vector<std::string> names = text ? split_names(*text) : std::vector<std::string>{};
  if (std::find(names.begin(), names.end(), entry_name) != names.end()) return;
  names.push_back(entry_name);
  write_index(pins, container_id, names);
}

void unindex_entry(const PinDir& pins, const std::string& container_id,
                   const std::string& entry_name) {
  if (container_id.empty()) return;
  const auto text = read_record(ids_dir(pins), pin_name(container_id));
  if (!text || *text == kUnindexed) return;
  std::vector<std::string> names = split_names(*text);
  const auto end = std::remove(names.begin(), names.end(), entry_name);
  if (end == names.end()) return;
  names.erase(end, names.end());
  write_index(pins, container_id, names);
}

void prune_id_index(const PinDir& pins) {
  // list_dir finds nothing where there is no ids directory.
  for (const std::string& record : list_dir(ids_dir(pins))) {
    const auto text = read_record(ids_dir(pins), record);
    if (!text || *text == kUnindexed) continue;
    const std::vector<std::string> names = split_names(*text);
    std::vector<std::string> kept;
    for (const std::string& name : names) {
      struct stat st {};
      if (::lstat((pins.containers_dir() + "/" + name).c_str(), &st) == 0) kept.push_back(name);
    }
    if (kept.size() != names.size()) write_index(pins, container_id_from_pin_name(record), kept);
  }
}

}  // namespace ojh
