// SPDX-License-Identifier: Apache-2.0
#include "tests/support/sandbox.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>

#include "hook/fd.hpp"
#include "hook/file.hpp"
#include "hook/pin_dir.hpp"
#include "oci/cgroup.hpp"
#include "oci/error.hpp"

namespace ojh::test {
namespace {

std::string cgroup2_mount_point() {
  const auto mount = find_cgroup2_mount(read_file_bounded("/proc/self/mountinfo", 16 << 20));
  return mount ? mount->mount_point : "";
}

void make_dir(const std::string& path, bool may_exist) {
  if (::mkdir(path.c_str(), 0755) != 0 && !(may_exist && errno == EEXIST))
    throw Error("create " + path, errno);
}

}  // namespace

std::string why_unsupported() {
  if (::geteuid() != 0) return "needs root (cgroup BPF attach, netns, bpffs)";
  if (cgroup2_mount_point().empty()) return "no cgroup2 hierarchy mounted";
  if (read_file_bounded("/proc/filesystems", 1 << 20).find("\tbpf\n") == std::string::npos)
    return "kernel has no bpffs";
  return "";
}

Sandbox::Sandbox(const std::string& tag) {
  // A private mount namespace first: the bpffs mounted below exists only in it.
  if (::unshare(CLONE_NEWNS) != 0) throw Error("unshare mount namespace", errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    throw Error("make mounts private", errno);
  char tmpl[] = "/tmp/ojh-bpffs-XXXXXX";
  if (!::mkdtemp(tmpl)) throw Error("mkdtemp", errno);
  bpffs_ = tmpl;
  pin_dir_ = bpffs_ + "/pins";  // PinDir::open mounts bpffs on bpffs_
  // A counter as well as the pid: a process makes one sandbox after another, and a cgroup
  // that already exists is one this sandbox did not create.
  static std::atomic<unsigned> serial{0};
  root_ = cgroup2_mount_point() + "/ojh-" + tag + "-" + std::to_string(::getpid()) + "-" +
          std::to_string(serial++);
  make_dir(root_, false);
}

Sandbox::~Sandbox() {
  ::umount2(bpffs_.c_str(), MNT_DETACH);
  ::rmdir(bpffs_.c_str());
  remove_cgroup_tree(root_);
}

std::string Sandbox::make_cgroup(const std::string& rel) {
  std::string path = root_;
  for (std::size_t start = 0; start < rel.size();) {
    const std::size_t end = std::min(rel.find('/', start), rel.size());
    if (end > start) {
      path += "/" + rel.substr(start, end - start);
      make_dir(path, end < rel.size());
    }
    start = end + 1;
  }
  return path;
}

pid_t fork_in_cgroup(const std::string& cgroup_path, const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("fork", errno);
  if (pid == 0) {
    // Nothing may escape: an exception leaving the child would run the rest of the
    // parent's program (the test runner) a second time.
    int rc = 125;
    try {
      write_file(cgroup_path + "/cgroup.procs", "0");
      rc = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child in %s: %s\n", cgroup_path.c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "child in %s: an exception that is not a std::exception\n",
                   cgroup_path.c_str());
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  return pid;
}

int wait_exit_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error("waitpid", errno);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_in_cgroup(const std::string& cgroup_path, bool own_netns, const std::function<int()>& fn) {
  return wait_exit_status(fork_in_cgroup(cgroup_path, [&] {
    if (own_netns) enter_private_netns();
    return fn();
  }));
}

void enter_private_netns(const std::string& address) {
  if (::unshare(CLONE_NEWNET) != 0) throw Error("unshare network namespace", errno);
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throw Error("socket", errno);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) throw Error("set lo up", errno);
  if (address.empty()) return;
  const std::string cmd = "ip -4 addr add " + address + "/32 dev lo";
  if (std::system(cmd.c_str()) != 0) throw Error("`" + cmd + "` failed");
}

void write_file(const std::string& path, const std::string& text) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw Error("open " + path, errno);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw Error("write " + path, errno);
}

void remove_cgroup_tree(const std::string& path) {
  for (const std::string& name : list_dir(path)) {
    struct stat st {};
    const std::string child = path + "/" + name;
    if (::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_cgroup_tree(child);
  }
  // A cgroup whose last process just exited can stay busy for a moment.
  for (int i = 0; i < 100 && ::rmdir(path.c_str()) != 0 && errno == EBUSY; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

std::vector<__u32> attached_program_ids(const std::string& cgroup, bpf_attach_type type) {
  Fd fd(::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw Error("open " + cgroup, errno);
  std::vector<__u32> out;
  if (type != BPF_LSM_CGROUP) {
    std::array<__u32, 64> ids{};
    __u32 count = ids.size();
    if (bpf_prog_query(fd.get(), type, 0, nullptr, ids.data(), &count) != 0)
      throw Error("query the programs of " + cgroup, errno);
    out.assign(ids.begin(), ids.begin() + count);
    return out;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error("stat " + cgroup, errno);
  for (__u32 id = 0; bpf_link_get_next_id(id, &id) == 0;) {
    Fd link(bpf_link_get_fd_by_id(id));
    if (!link) continue;  // gone meanwhile
    bpf_link_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(link.get(), &info, &len) != 0) continue;
    if (info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.attach_type == type &&
        info.cgroup.cgroup_id == static_cast<__u64>(st.st_ino))
      out.push_back(info.prog_id);
  }
  return out;
}

}  // namespace ojh::test
