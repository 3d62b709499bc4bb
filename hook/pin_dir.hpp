// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hook/fd.hpp"

namespace ojh {

// The hook's directory in bpffs. Layout (v<ABI> so that an upgraded hook never reuses
// objects whose layout it does not know):
//   <root>/v1/objects/{connect4,...,rules4,...}   programs and maps, loaded once per boot
//   <root>/v1/containers/cgroup:<cgroup id>/      one entry per enforced cgroup:
//       {connect4,...}                              bpf_link pins
//       cgroup-<cgroup id>/                         record (as earlier versions read it)
//       id, bundle, init                            records: symlinks to the container id,
//                                                   its bundle, its init's "pid:start time"
//       keys-<n>                                    record: the container's keys in the
//                                                   shared maps (hook/key_record.hpp)
//   <root>/v1/containers/<id>/                     an entry made by an earlier version (by
//                                                  container id, without id/bundle/init)
//   <root>/v1/staging-<what>-<pid>                 staging, renamed into place when complete
// Pins are what keep links attached after the hook exits; unpinning detaches. Entries are
// named by cgroup because container ids are unique only within one runtime's store.
// bpffs refuses names with a dot (reserved by the kernel), so container ids are stored with
// '.' written as "%2E" ('%' cannot occur in a valid id, so the mapping is reversible); ':'
// cannot occur in one either, so an entry name never collides with an older one.
class PinDir {
 public:
  // Mounts bpffs on the parent of `root` when nothing is mounted there yet, then creates
  // the layout (mode 0700, never following symlinks).
  static PinDir open(const std::string& root);
  // The layout as it is, without mounting or creating anything; nullopt when absent.
  static std::optional<PinDir> open_existing(const std::string& root);

  const std::string& root() const { return root_; }
  std::string version_dir() const;
  std::string objects_dir() const;
  std::string containers_dir() const;
  std::string entry_dir(std::uint64_t cgroup_id) const;    // containers/cgroup:<id>
  std::string staging_dir(const std::string& what) const;  // unique per process

  // Serialises every hook invocation that changes pins or shared maps; released on close.
  Fd lock_exclusive() const;

  // Removes staging directories left by hooks that died mid-way (called under the lock).
  void remove_stale_staging() const;

 private:
  explicit PinDir(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

inline constexpr std::string_view kStagingMarker = "staging-";
inline constexpr std::string_view kEntryPrefix = "cgroup:";

// The cgroup id in an entry name ("cgroup:<id>"); nullopt for an older entry's name.
std::optional<std::uint64_t> entry_cgroup_id(std::string_view name);

std::string pin_name(const std::string& container_id);
std::string container_id_from_pin_name(const std::string& name);

// Creates `path` (mode 0700) if missing; refuses a symlink or a non-directory.
void make_private_dir(const std::string& path);
// Unlinks every entry of a pin directory (pins, then records), then the directory itself;
// missing is fine.
void remove_pin_dir(const std::string& path);

// A record in a pin directory: a symlink whose target is `value` (bpffs holds no plain
// files). Written under a temporary name and renamed over the old one, so a reader sees
// the old value or the new one. read_record: nullopt when there is none.
void write_record(const std::string& dir, const std::string& name, const std::string& value);
std::optional<std::string> read_record(const std::string& dir, const std::string& name);
std::vector<std::string> list_dir(const std::string& path);

}  // namespace ojh
