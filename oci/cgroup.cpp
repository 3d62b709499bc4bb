// SPDX-License-Identifier: Apache-2.0
#include "oci/cgroup.hpp"

#include <vector>

#include "oci/error.hpp"
#include "oci/file.hpp"
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

bool strictly_contains(std::string_view ancestor, std::string_view path) {
  return ancestor != path && contains(ancestor, path);
}

// Whether the path of mounts[index] leads to a mount on top of it. Line order says nothing
// reliable (moved mounts keep their place), so this follows the parent links: a mount is
// hidden when something is mounted over it, when a sibling is mounted over a directory
// above its mount point, or when its parent is hidden (unless it is the parent's overmount).
bool is_hidden(const std::vector<MountLine>& mounts, std::size_t index) {
  bool allow_overmount = false;
  // Each step moves to the parent; more steps than mounts means a cycle in malformed input.
  for (std::size_t steps = 0; steps <= mounts.size(); ++steps) {
    const MountLine& mount = mounts[index];
    std::optional<std::size_t> parent;
    for (std::size_t i = 0; i < mounts.size(); ++i) {
      if (i == index) continue;
      const MountLine& other = mounts[i];
      if (other.parent == mount.id && other.mount_point == mount.mount_point && !allow_overmount) {
        return true;
      }
      if (other.parent == mount.parent && strictly_contains(other.mount_point, mount.mount_point)) {
        return true;
      }
      if (other.id == mount.parent) parent = i;
    }
    if (!parent) return false;
    allow_overmount = mounts[*parent].mount_point == mount.mount_point;
    index = *parent;
  }
  return true;
}

}  // namespace

std::optional<Cgroup2Mount> find_cgroup2_mount(std::string_view mountinfo) {
  std::vector<MountLine> mounts;
  for (const auto line : split(mountinfo, '\n')) {
    if (auto mount = parse_mount_line(line)) mounts.push_back(std::move(*mount));
  }
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    if (mounts[i].is_cgroup2 && !is_hidden(mounts, i)) {
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

CgroupTarget resolve_container_cgroup_for_pid(pid_t pid, const std::string& proc_root) {
  if (pid <= 0) throw Error("state has no container pid");
  const std::string container =
      read_file_bounded(proc_root + "/" + std::to_string(pid) + "/cgroup", kMaxProcCgroupBytes);
  const std::string mountinfo =
      read_file_bounded(proc_root + "/self/mountinfo", kMaxMountinfoBytes);
  const std::string hook = read_file_bounded(proc_root + "/self/cgroup", kMaxProcCgroupBytes);
  return resolve_container_cgroup(mountinfo, container, hook);
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

CgroupTarget resolve_cgroup_path(const std::string& host_path, const std::string& proc_root) {
  const std::string mountinfo =
      read_file_bounded(proc_root + "/self/mountinfo", kMaxMountinfoBytes);
  const std::string hook = read_file_bounded(proc_root + "/self/cgroup", kMaxProcCgroupBytes);
  return resolve_container_cgroup(mountinfo, "0::" + host_path + "\n", hook);
}

}  // namespace ojh
