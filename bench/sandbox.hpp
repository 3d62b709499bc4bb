// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace ojh::bench {

// Where a benchmark may attach and pin: a cgroup subtree it created below the visible
// cgroup2 root, and a bpffs of its own in a private mount namespace (the process unshares
// it, so nothing the bench pins is ever visible to the host). Same rules as the privileged
// test tier: no attach outside `root()`.
class Sandbox {
 public:
  explicit Sandbox(const std::string& tag);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  std::string make_cgroup(const std::string& name);  // a child of root(); returns its path
  const std::string& root() const { return root_; }
  const std::string& pin_dir() const { return pin_dir_; }

 private:
  std::string root_;
  std::string bpffs_;
  std::string pin_dir_;
};

// Empty when the benchmarks can run; otherwise why not.
std::string why_unsupported();

// Forks a child that joins `cgroup_path` and runs `fn` (its return value is the exit
// status). The caller waits for it.
pid_t fork_in_cgroup(const std::string& cgroup_path, const std::function<int()>& fn);
int wait_exit_status(pid_t pid);

// In the calling process: a new network namespace with lo up and `address`/32 on lo, so
// that traffic to `address` is local, is judged by the programs like any non-loopback
// destination (an LPM lookup), and never leaves the namespace.
void enter_private_netns(const std::string& address);

// Pins the calling process to one CPU.
void pin_to_cpu(int cpu);
int last_cpu();

void write_file(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);
void remove_cgroup_tree(const std::string& path);

}  // namespace ojh::bench
