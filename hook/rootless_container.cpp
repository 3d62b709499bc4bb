// SPDX-License-Identifier: Apache-2.0
#include "hook/rootless_container.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

#include "hook/cgroup_namespace.hpp"
#include "hook/cgroup_tree.hpp"
#include "hook/fd.hpp"
#include "hook/file.hpp"
#include "hook/process.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

struct NamespaceId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const NamespaceId&) const = default;
};

NamespaceId namespace_of(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error("stat " + what, errno);
  return {st.st_dev, st.st_ino};
}

Fd open_namespace(const std::string& proc, const char* type) {
  const std::string path = proc + "/ns/" + type;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw Error("open " + path, errno);
  return fd;
}

// The user namespace of the container's process must be one `uid` made: the rootless
// runtime's, or one nested in it (its owner is then the runtime's root, `uid` on the host).
void check_user_namespace(const std::string& proc, uid_t uid) {
  const Fd theirs = open_namespace(proc, "user");
  const Fd ours = open_namespace("/proc/self", "user");
  if (namespace_of(theirs.get(), "a user namespace") == namespace_of(ours.get(), "ours"))
    throw Error(
        "the container's process is not in a user namespace (a rootful container is "
        "enforced by the hook itself)");
  uid_t owner = 0;
  if (::ioctl(theirs.get(), NS_GET_OWNER_UID, &owner) != 0)
    throw Error("read the owner of the container's user namespace", errno);
  if (owner != uid)
    throw Error("the container's process is in a user namespace of uid " + std::to_string(owner) +
                ", not of the requesting uid " + std::to_string(uid));
}

std::vector<pid_t> cgroup_procs(const std::string& dir) {
  std::vector<pid_t> pids;
  const std::string text = read_file_bounded(dir + "/cgroup.procs", 4 * 1024 * 1024);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    if (!line.empty()) pids.push_back(static_cast<pid_t>(std::stol(line)));
  }
  return pids;
}

// Nothing but the container may share the cgroup: the container's processes are its init
// and whatever runs in the init's pid namespace (never the host's).
void check_not_shared(const CgroupTarget& cgroup, pid_t pid, const std::string& proc) {
  const Fd init_ns = open_namespace(proc, "pid");
  const NamespaceId container_ns = namespace_of(init_ns.get(), "the container's pid namespace");
  const Fd own_ns = open_namespace("/proc/self", "pid");
  const bool own_pid_namespace =
      container_ns != namespace_of(own_ns.get(), "the service's pid namespace");
  const auto check_process = [&](pid_t p) {
    if (p == pid) return;
    if (own_pid_namespace) {
      struct stat st {};
      const std::string ns = "/proc/" + std::to_string(p) + "/ns/pid";
      if (::stat(ns.c_str(), &st) != 0) {
        if (errno == ENOENT) return;  // exited meanwhile
        throw Error("stat " + ns, errno);
      }
      if (NamespaceId{st.st_dev, st.st_ino} == container_ns) return;
    }
    throw Error("cgroup " + cgroup.path + " also holds process " + std::to_string(p) +
                ", which is not the container's: refusing a cgroup shared with other processes "
                "(run the container in a cgroup of its own, e.g. podman's default "
                "--cgroups=enabled)");
  };
  find_in_cgroup_tree(cgroup.fs_path, 1024, [&](const std::string& dir) {
    for (const pid_t p : cgroup_procs(dir)) check_process(p);
    return false;
  });
}

}  // namespace

RootlessContainer verify_rootless_container(uid_t uid, int pidfd) {
  RootlessContainer c;
  c.pid = pidfd_pid(pidfd);
  const std::string proc = "/proc/" + std::to_string(c.pid);
  check_user_namespace(proc, uid);
  c.cgroup = container_cgroup(c.pid);
  if (!within_user_delegation(c.cgroup.path, uid))
    throw Error("cgroup " + c.cgroup.path +
                " is not inside the cgroup tree systemd delegates to uid " + std::to_string(uid) +
                " (" + user_delegated_cgroup(uid) +
                "/...): run rootless podman with the systemd cgroup manager, and `loginctl "
                "enable-linger` for users without a login session");
  struct stat st {};
  if (::stat(c.cgroup.fs_path.c_str(), &st) != 0) throw Error("stat " + c.cgroup.fs_path, errno);
  if (st.st_uid != uid)
    throw Error("cgroup " + c.cgroup.path + " belongs to uid " + std::to_string(st.st_uid) +
                ", not to the requesting uid " + std::to_string(uid));
  check_not_shared(c.cgroup, c.pid, proc);
  if (pidfd_exited(pidfd))
    throw Error("the container's process exited while the attach service checked it");
  return c;
}

}  // namespace ojh
