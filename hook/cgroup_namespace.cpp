// SPDX-License-Identifier: Apache-2.0
#include "hook/cgroup_namespace.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "hook/fd.hpp"
#include "hook/file.hpp"
#include "oci/cgroup.hpp"
#include "oci/error.hpp"

namespace ojh {

std::optional<std::string> cgroup_path_in_own_namespace(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  struct stat mine {
  }, theirs{};
  if (::stat("/proc/self/ns/cgroup", &mine) != 0) throw Error("stat /proc/self/ns/cgroup", errno);
  if (::stat((proc + "/ns/cgroup").c_str(), &theirs) != 0)
    throw Error("stat " + proc + "/ns/cgroup", errno);
  if (mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev) return std::nullopt;

  Fd own(::open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC));
  Fd target(::open((proc + "/ns/cgroup").c_str(), O_RDONLY | O_CLOEXEC));
  if (!own || !target) throw Error("open cgroup namespace of " + proc, errno);
  if (::setns(target.get(), CLONE_NEWCGROUP) != 0)
    throw Error("enter the cgroup namespace of " + proc, errno);
  std::optional<std::string> path;
  std::optional<Error> failure;
  try {
    path = unified_cgroup_path(read_file_bounded(proc + "/cgroup", kMaxProcCgroupBytes));
    if (!path) failure = Error(proc + "/cgroup has no cgroup v2 (0::) line");
  } catch (const Error& e) {
    failure = e;
  }
  // Back to the hook's own view before anything else reads a cgroup path.
  if (::setns(own.get(), CLONE_NEWCGROUP) != 0)
    throw Error("return to the hook's cgroup namespace", errno);
  if (failure) throw *failure;
  return path;
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

CgroupTarget resolve_cgroup_path(const std::string& host_path, const std::string& proc_root) {
  const std::string mountinfo =
      read_file_bounded(proc_root + "/self/mountinfo", kMaxMountinfoBytes);
  const std::string hook = read_file_bounded(proc_root + "/self/cgroup", kMaxProcCgroupBytes);
  return resolve_container_cgroup(mountinfo, "0::" + host_path + "\n", hook);
}

CgroupTarget container_cgroup(pid_t pid) {
  CgroupTarget own = resolve_container_cgroup_for_pid(pid);
  const auto in_ns = cgroup_path_in_own_namespace(pid);
  if (!in_ns || *in_ns == "/") return own;
  return resolve_cgroup_path(cgroup_namespace_root(own.path, *in_ns));
}

}  // namespace ojh
