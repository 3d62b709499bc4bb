// SPDX-License-Identifier: Apache-2.0
#include "hook/pin_dir.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <memory>

#include "bpf/block_host_abi.h"
#include "hook/fd.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

bool is_bpffs(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

void make_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return;
  if (errno != EEXIST) throw Error("create directory " + path, errno);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw Error("inspect " + path, errno);
  if (!S_ISDIR(st.st_mode)) throw Error(path + " exists and is not a directory (refusing)");
  if (st.st_uid != 0 || (st.st_mode & 0022))
    throw Error(path + " is not owned by root or is writable by others (refusing)");
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, DirCloser> dir(::opendir(path.c_str()));
  if (!dir) {
    if (errno == ENOENT) return names;
    throw Error("list " + path, errno);
  }
  // readdir() returns NULL at the end and on an error alike; only errno tells them apart,
  // and a partial listing would make gc or status miss containers silently.
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir.get());
    if (!e) {
      if (errno != 0) throw Error("list " + path, errno);
      return names;
    }
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
}

void remove_pin_dir(const std::string& path) {
  // Pins first, records last (symlinks, then the cgroup-<id> directory): a hook killed
  // half-way still leaves what tells poststop whose entry it is and gc whose rules the
  // remaining pins had.
  enum Pass { kPins, kSymlinks, kDirectories };
  const auto names = list_dir(path);
  for (const Pass pass : {kPins, kSymlinks, kDirectories}) {
    for (const std::string& name : names) {
      const std::string entry = path + "/" + name;
      struct stat st {};
      if (::lstat(entry.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        throw Error("inspect " + entry, errno);
      }
      const Pass kind = S_ISDIR(st.st_mode)   ? kDirectories
                        : S_ISLNK(st.st_mode) ? kSymlinks
                                              : kPins;
      if (kind != pass) continue;
      if ((pass == kDirectories ? ::rmdir(entry.c_str()) : ::unlink(entry.c_str())) != 0 &&
          errno != ENOENT)
        throw Error("unpin " + entry, errno);
    }
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) throw Error("remove " + path, errno);
}

void write_record(const std::string& dir, const std::string& name, const std::string& value) {
  const std::string path = dir + "/" + name;
  const std::string tmp = dir + "/" + name + "-new-" + std::to_string(::getpid());
  if (::symlink(value.c_str(), tmp.c_str()) != 0) throw Error("record " + path, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error("record " + path, err);
  }
}

std::optional<std::string> read_record(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  std::string value(PATH_MAX, '\0');
  const ssize_t n = ::readlink(path.c_str(), value.data(), value.size());
  if (n < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Error("read record " + path, errno);
  }
  value.resize(static_cast<std::size_t>(n));
  return value;
}

namespace {

// A mount over a directory that holds anything hides it from the whole host (pin-dir =
// /run/ojh would hide /run): bpffs is mounted only on an empty one, as /sys/fs/bpf is before
// anything mounts it.
void refuse_to_hide(const std::string& mount_point) {
  DIR* d = ::opendir(mount_point.c_str());
  if (!d) throw Error("mount bpffs on " + mount_point, errno);
  bool empty = true;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  if (!empty)
    throw Error("refusing to mount bpffs on " + mount_point +
                ": it is not empty, and the mount would hide what it holds (mount bpffs there "
                "first, or choose a pin-dir below /sys/fs/bpf)");
}

// Mounts bpffs on `mount_point` unless one is there. Hooks of containers started at once on
// a fresh boot would otherwise each see no bpffs and each mount one, every mount hiding what
// the hooks before it pinned. The lock is on the directory as it is before any mount: a
// hook that gets it second finds the first one's bpffs there, and one that opens the
// directory after the mount opens that bpffs.
void mount_bpffs_once(const std::string& mount_point) {
  const Fd dir(::open(mount_point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw Error("mount bpffs on " + mount_point, errno);
  if (::flock(dir.get(), LOCK_EX) != 0) throw Error("lock " + mount_point, errno);
  if (is_bpffs(mount_point)) return;
  refuse_to_hide(mount_point);
  if (::mount("bpf", mount_point.c_str(), "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") !=
      0)
    throw Error("mount bpffs on " + mount_point, errno);
}

}  // namespace

PinDir PinDir::open(const std::string& root) {
  if (root.empty() || root.front() != '/' || root == "/")
    throw Error("pin directory must be an absolute path below a bpffs mount: \"" + root + "\"");
  const std::string mount_point = parent_of(root);
  if (!is_bpffs(root) && !is_bpffs(mount_point)) mount_bpffs_once(mount_point);
  PinDir dir(root);
  make_private_dir(root);
  if (!is_bpffs(root)) throw Error(root + " is not on a bpffs mount");
  make_private_dir(dir.version_dir());
  make_private_dir(dir.containers_dir());
  return dir;
}

std::optional<PinDir> PinDir::open_existing(const std::string& root) {
  PinDir dir(root);
  struct stat st {};
  if (!is_bpffs(root) || ::lstat(dir.version_dir().c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return std::nullopt;
  return dir;
}

std::string PinDir::version_dir() const { return root_ + "/v" + std::to_string(OJH_ABI_VERSION); }
std::string PinDir::objects_dir() const { return version_dir() + "/objects"; }
std::string PinDir::containers_dir() const { return version_dir() + "/containers"; }
std::string pin_name(const std::string& container_id) {
  std::string out;
  for (char c : container_id) {
    if (c == '.')
      out += "%2E";
    else
      out += c;
  }
  return out;
}

std::string container_id_from_pin_name(const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name.compare(i, 3, "%2E") == 0) {
      out += '.';
      i += 2;
    } else {
      out += name[i];
    }
  }
  return out;
}

std::string PinDir::entry_dir(std::uint64_t cgroup_id) const {
  return containers_dir() + "/" + std::string(kEntryPrefix) + std::to_string(cgroup_id);
}

std::optional<std::uint64_t> entry_cgroup_id(std::string_view name) {
  if (name.substr(0, kEntryPrefix.size()) != kEntryPrefix) return std::nullopt;
  const std::string_view digits = name.substr(kEntryPrefix.size());
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || id == 0)
    return std::nullopt;
  return id;
}
std::string PinDir::staging_dir(const std::string& what) const {
  return version_dir() + "/" + std::string(kStagingMarker) + pin_name(what) + "-" +
         std::to_string(::getpid());
}

Fd PinDir::lock_exclusive() const {
  Fd fd(::open(version_dir().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw Error("open " + version_dir(), errno);
  if (::flock(fd.get(), LOCK_EX) != 0) throw Error("lock " + version_dir(), errno);
  return fd;
}

void PinDir::remove_stale_staging() const {
  for (const std::string& name : list_dir(version_dir())) {
    if (name.rfind(kStagingMarker, 0) != 0) continue;
    const std::string dir = version_dir() + "/" + name;
    // A staged link pin still attaches its program; unpinning alone releases it from a
    // kernel work item, later. Detach first so the cgroup is free when this returns.
    // Records are symlinks, and bpf_obj_get follows them: a bundle path could name another
    // container's link pin.
    for (const std::string& entry : list_dir(dir)) {
      struct stat st {};
      if (::lstat((dir + "/" + entry).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      const int fd = bpf_obj_get((dir + "/" + entry).c_str());
      if (fd < 0) continue;
      bpf_link_detach(fd);  // fails harmlessly for programs and maps
      ::close(fd);
    }
    remove_pin_dir(dir);
  }
}

}  // namespace ojh
