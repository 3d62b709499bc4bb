// SPDX-License-Identifier: Apache-2.0
#include "oci/cgroup.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "oci/error.hpp"
#include "oci/quote.hpp"

namespace ojh {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

// The kernel writes ' ', '\t', '\n' and '\\' in mountinfo paths as \040 \011 \012 \134, and
// nothing else (a path cannot hold NUL). Any other escape stays as it is: decoding "\000"
// would put a NUL into a path that is later open()ed, silently cutting it at an ancestor.
std::string unescape_octal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && is_octal(text[i + 1]) && is_octal(text[i + 2]) &&
        is_octal(text[i + 3])) {
      const int value =
          ((text[i + 1] - '0') << 6) | ((text[i + 2] - '0') << 3) | (text[i + 3] - '0');
      if (value == ' ' || value == '\t' || value == '\n' || value == '\\') {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// "/" or "/a/b": absolute, no empty, "." or ".." components, no trailing slash.
bool is_clean_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path == "/") return true;
  const auto components = split(path.substr(1), '/');
  for (const auto component : components) {
    if (component.empty() || component == "." || component == "..") return false;
  }
  return true;
}

// Component-wise: "/a" contains "/a" and "/a/b" but not "/ab"; "/" contains everything.
bool contains(std::string_view ancestor, std::string_view path) {
  if (ancestor == "/") return true;
  return path.starts_with(ancestor) &&
         (path.size() == ancestor.size() || path[ancestor.size()] == '/');
}

std::string checked_path(std::string_view path, std::string_view what) {
  if (!is_clean_path(path)) {
    throw Error(std::string(what) + " " + quote_untrusted(path) +
                " is invalid (must be absolute, without empty, \".\" or \"..\" components)");
  }
  return std::string(path);
}

struct MountLine {
  std::string_view id;
  std::string_view parent;
  std::string root;
  std::string mount_point;
  bool is_cgroup2 = false;
};

std::optional<MountLine> parse_mount_line(std::string_view line) {
  const auto fields = split(line, ' ');
  // id parent major:minor root mount-point options [optional fields...] - fstype source opts
  for (std::size_t i = 6; i + 1 < fields.size(); ++i) {
    if (fields[i] != "-") continue;
    return MountLine{fields[0], fields[1], unescape_octal(fields[3]), unescape_octal(fields[4]),
                     fields[i + 1] == "cgroup2"};
  }
  return std::nullopt;
}

// FNV-1a, continued byte by byte, so that the hashes of every prefix of a path come from one
// pass over it.
constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

std::uint64_t fnv_add(std::uint64_t hash, std::string_view bytes) {
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * kFnvPrime;
  return hash;
}

// The hash of (parent id, mount point) starts with the parent and a separator byte; the mount
// point's bytes follow.
std::uint64_t parent_seed(std::string_view parent) {
  return fnv_add(fnv_add(kFnvOffset, parent), std::string_view("\xff", 1));
}

// Whether each mount's path leads to a mount on top of it. Line order says nothing reliable
// (moved mounts keep their place), so this follows the parent links: a mount is hidden when
// something is mounted over it, when a sibling is mounted over a directory above its mount
// point, or when its parent is hidden (unless it is the parent's overmount).
//
// The kernel's mountinfo may hold tens of thousands of lines (up to kMaxMountinfoBytes), so
// nothing here scans all lines per mount: mounts are found through a hash of (parent id,
// mount point), and each state of a walk is answered once, however many walks pass it.
class MountTree {
 public:
  explicit MountTree(const std::vector<MountLine>& mounts)
      : mounts_(mounts), memo_(mounts.size()), on_walk_(mounts.size(), false) {
    for (std::size_t i = 0; i < mounts_.size(); ++i) {
      const MountLine& m = mounts_[i];
      last_with_id_[m.id] = i;
      by_parent_and_point_.emplace(fnv_add(parent_seed(m.parent), m.mount_point), i);
    }
  }

  bool is_hidden(std::size_t start) {
    // A walk: the start, its parent, the parent's parent... until a mount that is covered
    // (hidden), one without a parent (visible), a state answered by an earlier walk, or a
    // cycle, which only malformed input has (hidden). A state is a mount and whether the
    // step into it came from its own overmount, which then does not cover it.
    std::vector<std::pair<std::size_t, bool>> walk;
    std::size_t index = start;
    bool allow_overmount = false;
    bool answer = false;
    for (;;) {
      if (const auto known = memo_[index][allow_overmount]) {
        answer = *known;
        break;
      }
      if (on_walk_[index]) {
        answer = true;
        break;
      }
      walk.emplace_back(index, allow_overmount);
      on_walk_[index] = true;
      if ((!allow_overmount && has_overmount(index)) || has_sibling_above(index)) {
        answer = true;
        break;
      }
      const auto parent = parent_of(index);
      if (!parent) break;
      allow_overmount = mounts_[*parent].mount_point == mounts_[index].mount_point;
      index = *parent;
    }
    // Each state on the walk is hidden exactly when the state after it is.
    for (const auto& [mount, allowed] : walk) {
      memo_[mount][allowed] = answer;
      on_walk_[mount] = false;
    }
    return answer;
  }

 private:
  // The last line (other than `index` itself) whose id is `index`'s parent.
  std::optional<std::size_t> parent_of(std::size_t index) const {
    const auto it = last_with_id_.find(mounts_[index].parent);
    if (it == last_with_id_.end()) return std::nullopt;
    if (it->second != index) return it->second;
    // The mount names itself as its parent: the line before it with that id, if any.
    for (std::size_t i = index; i-- > 0;)
      if (mounts_[i].id == mounts_[index].parent) return i;
    return std::nullopt;
  }

  bool has_mount(std::string_view parent, std::uint64_t hash, std::string_view point,
                 std::optional<std::size_t> except) const {
    const auto [first, last] = by_parent_and_point_.equal_range(hash);
    for (auto it = first; it != last; ++it) {
      const MountLine& m = mounts_[it->second];
      // A mount that names itself as its parent is the root of the tree (rootfs when the
      // host runs from its initramfs): it covers nothing mounted on it.
      if (m.id == m.parent) continue;
      if (it->second != except && m.parent == parent && m.mount_point == point) return true;
    }
    return false;
  }

  // Something mounted on top of this mount, at the same mount point.
  bool has_overmount(std::size_t index) const {
    const MountLine& m = mounts_[index];
    return has_mount(m.id, fnv_add(parent_seed(m.id), m.mount_point), m.mount_point, index);
  }

  // A sibling (same parent) mounted at a directory above this mount point: "/" or a prefix
  // of it ending before a '/'.
  bool has_sibling_above(std::size_t index) const {
    const MountLine& m = mounts_[index];
    const std::string_view point = m.mount_point;
    const std::uint64_t seed = parent_seed(m.parent);
    if (point != "/" && has_mount(m.parent, fnv_add(seed, "/"), "/", std::nullopt)) return true;
    std::uint64_t hash = seed;
    for (std::size_t k = 0; k < point.size(); ++k) {
      if (point[k] == '/' && has_mount(m.parent, hash, point.substr(0, k), std::nullopt))
        return true;
      hash = fnv_add(hash, point.substr(k, 1));
    }
    return false;
  }

  const std::vector<MountLine>& mounts_;
  std::unordered_map<std::string_view, std::size_t> last_with_id_;
  std::unordered_multimap<std::uint64_t, std::size_t> by_parent_and_point_;
  std::vector<std::array<std::optional<bool>, 2>> memo_;  // by mount, then allow_overmount
  std::vector<bool> on_walk_;
};

}  // namespace

std::optional<Cgroup2Mount> find_cgroup2_mount(std::string_view mountinfo) {
  std::vector<MountLine> mounts;
  for (const auto line : split(mountinfo, '\n')) {
    if (auto mount = parse_mount_line(line)) mounts.push_back(std::move(*mount));
  }
  MountTree tree(mounts);
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    if (mounts[i].is_cgroup2 && !tree.is_hidden(i)) {
      return Cgroup2Mount{mounts[i].mount_point, mounts[i].root};
    }
  }
  return std::nullopt;
}

std::optional<std::string> unified_cgroup_path(std::string_view proc_pid_cgroup) {
  constexpr std::string_view kUnified = "0::";
  constexpr std::string_view kDeleted = " (deleted)";
  std::optional<std::string> path;
  for (auto line : split(proc_pid_cgroup, '\n')) {
    if (!line.starts_with(kUnified)) continue;
    if (path) throw Error("more than one cgroup v2 (0::) line in a /proc/<pid>/cgroup file");
    line.remove_prefix(kUnified.size());
    if (line.ends_with(kDeleted)) line.remove_suffix(kDeleted.size());
    path = std::string(line);
  }
  return path;
}

CgroupTarget resolve_container_cgroup(std::string_view mountinfo,
                                      std::string_view container_proc_cgroup,
                                      std::string_view hook_proc_cgroup) {
  const auto mount = find_cgroup2_mount(mountinfo);
  if (!mount) {
    throw Error(
        "no cgroup2 (unified) hierarchy mounted; oci-jail-hook needs cgroup v2 or a hybrid host");
  }
  const auto container_line = unified_cgroup_path(container_proc_cgroup);
  if (!container_line) throw Error("container is in no cgroup v2 (unified) cgroup");
  const auto hook_line = unified_cgroup_path(hook_proc_cgroup);
  if (!hook_line) throw Error("the hook's own process is in no cgroup v2 (unified) cgroup");

  const std::string path = checked_path(*container_line, "container cgroup path");
  const std::string hook = checked_path(*hook_line, "hook's own cgroup path");
  const std::string root = checked_path(mount->root, "cgroup2 mount root");
  if (!mount->mount_point.starts_with('/')) {
    throw Error("cgroup2 mount point " + quote_untrusted(mount->mount_point) + " is not absolute");
  }

  if (path == "/") {
    throw Error("container cgroup is the root cgroup; refusing to attach to the whole host");
  }
  if (contains(path, hook)) {
    throw Error("container cgroup " + escape_untrusted(path) + " contains the hook's own cgroup " +
                escape_untrusted(hook) + "; refusing to attach to a cgroup shared with the host");
  }
  if (!contains(root, path)) {
    throw Error("container cgroup " + escape_untrusted(path) +
                " is not visible in the hook's cgroup2 mount at " +
                escape_untrusted(mount->mount_point) + " (its root is " + escape_untrusted(root) +
                ")");
  }

  const std::string relative = root == "/" ? path : path.substr(root.size());
  std::string_view mount_point = mount->mount_point;
  if (mount_point.ends_with('/')) mount_point.remove_suffix(1);
  std::string fs_path = std::string(mount_point) + relative;
  return CgroupTarget{path, fs_path.empty() ? std::string(1, '/') : std::move(fs_path)};
}

std::string cgroup_namespace_root(std::string_view host_path, std::string_view in_ns) {
  if (in_ns.empty() || in_ns.front() != '/' || in_ns.starts_with("/.."))
    throw Error("container process is outside its cgroup namespace (" + quote_untrusted(in_ns) +
                "); refusing");
  if (in_ns == "/") return std::string(host_path);
  if (host_path == in_ns) return "/";
  const bool suffix = host_path.size() > in_ns.size() && host_path.ends_with(in_ns) &&
                      host_path[host_path.size() - in_ns.size()] == '/';
  if (!suffix)
    throw Error("container cgroup " + quote_untrusted(host_path) + " does not end with " +
                quote_untrusted(in_ns) + ", its path inside its cgroup namespace");
  const std::string root(host_path.substr(0, host_path.size() - in_ns.size()));
  return root.empty() ? "/" : root;
}

std::string user_delegated_cgroup(unsigned uid) {
  const std::string u = std::to_string(uid);
  return "/user.slice/user-" + u + ".slice/user@" + u + ".service";
}

bool within_user_delegation(std::string_view path, unsigned uid) {
  const std::string base = user_delegated_cgroup(uid) + "/";
  if (!path.starts_with(base) || path.size() == base.size()) return false;
  for (std::string_view rest = path.substr(base.size() - 1); !rest.empty();) {
    rest.remove_prefix(1);  // the '/'
    const std::string_view component = rest.substr(0, rest.find('/'));
    if (component.empty() || component == "." || component == "..") return false;
    rest.remove_prefix(component.size());
  }
  return true;
}

}  // namespace ojh
