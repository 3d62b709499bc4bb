// SPDX-License-Identifier: Apache-2.0
#include "bench/sandbox.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "hook/fd.hpp"
#include "hook/pin_dir.hpp"
#include "oci/cgroup.hpp"
#include "oci/error.hpp"
#include "oci/file.hpp"

namespace ojh::bench {
namespace {

std::string cgroup2_mount_point() {
  const auto mount = find_cgroup2_mount(read_file_bounded("/proc/self/mountinfo", 16 << 20));
  return mount ? mount->mount_point : "";
}

}  // namespace

void write_file(const std::string& path, const std::string& text) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw Error("open " + path, errno);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw Error("write " + path, errno);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("read " + path, errno);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
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

std::string why_unsupported() {
  if (::geteuid() != 0) return "needs root (cgroup BPF attach, netns, bpffs)";
  if (cgroup2_mount_point().empty()) return "no cgroup2 hierarchy mounted";
  return "";
}

Sandbox::Sandbox(const std::string& tag) {
  // A private mount namespace first: the bpffs mounted below exists only in it.
  if (::unshare(CLONE_NEWNS) != 0) throw Error("unshare mount namespace", errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    throw Error("make mounts private", errno);
  char tmpl[] = "/tmp/ojh-bench-bpffs-XXXXXX";
  if (!::mkdtemp(tmpl)) throw Error("mkdtemp", errno);
  bpffs_ = tmpl;
  pin_dir_ = bpffs_ + "/pins";  // PinDir::open mounts bpffs on bpffs_
  root_ = cgroup2_mount_point() + "/ojh-bench-" + tag + "-" + std::to_string(::getpid());
  if (::mkdir(root_.c_str(), 0755) != 0) throw Error("create cgroup " + root_, errno);
}

Sandbox::~Sandbox() {
  ::umount2(bpffs_.c_str(), MNT_DETACH);
  ::rmdir(bpffs_.c_str());
  remove_cgroup_tree(root_);
}

std::string Sandbox::make_cgroup(const std::string& name) {
  const std::string path = root_ + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) throw Error("create cgroup " + path, errno);
  return path;
}

pid_t fork_in_cgroup(const std::string& cgroup_path, const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("fork", errno);
  if (pid == 0) {
    int rc = 125;
    try {
      write_file(cgroup_path + "/cgroup.procs", "0");
      rc = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ojh-bench: child in %s: %s\n", cgroup_path.c_str(), e.what());
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

void enter_private_netns(const std::string& address) {
  if (::unshare(CLONE_NEWNET) != 0) throw Error("unshare network namespace", errno);
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) throw Error("set lo up", errno);
  const std::string cmd = "ip -4 addr add " + address + "/32 dev lo";
  if (std::system(cmd.c_str()) != 0) throw Error("`" + cmd + "` failed");
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof(set), &set) != 0)
    throw Error("pin to CPU " + std::to_string(cpu), errno);
}

int last_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  int last = 0;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &set)) last = i;
  return last;
}

}  // namespace ojh::bench
