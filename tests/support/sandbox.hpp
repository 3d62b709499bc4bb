// SPDX-License-Identifier: Apache-2.0
// Isolation for the code that loads and attaches the hook's programs itself, outside a
// runtime: the privileged test tier (tests/bpf) and the benchmarks (bench/). Both keep to
// the rule of the privileged tiers: attach only below a cgroup the process created, pin only
// in a bpffs nobody else sees.
#pragma once

#include <linux/bpf.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace ojh::test {

// Empty when this process can build a Sandbox; otherwise why not (not root, no cgroup2, no
// bpffs in the kernel).
std::string why_unsupported();

// A cgroup subtree <cgroup2>/ojh-<tag>-<pid>-<n> and a bpffs of the process's own. Every
// attach targets a cgroup below `root()`, never the real root or a cgroup someone else made.
// The constructor moves the calling thread into a private mount namespace (the caller needs
// no wrapper), so the bpffs that PinDir::open mounts on pin_dir()'s parent, and every pin in
// it, is never visible on the host and dies with the process. The destructor removes the
// subtree, waiting for cgroups whose last process has only just exited.
class Sandbox {
 public:
  explicit Sandbox(const std::string& tag);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Creates root()/rel ("ctr" or "ctr/container/nested": missing parents are made too; the
  // last component must be new) and returns its path.
  std::string make_cgroup(const std::string& rel);
  const std::string& root() const { return root_; }
  const std::string& pin_dir() const { return pin_dir_; }

 private:
  std::string root_;
  std::string bpffs_;
  std::string pin_dir_;
};

// Forks a child that joins `cgroup_path` and exits with fn()'s return value; 125 (with the
// reason on stderr) when joining fails or fn throws. The caller waits for it.
pid_t fork_in_cgroup(const std::string& cgroup_path, const std::function<int()>& fn);
// The exit status of a child, or 128 + the signal that ended it.
int wait_exit_status(pid_t pid);
// fork_in_cgroup + wait_exit_status; with `own_netns`, fn runs in a new network namespace
// with lo up (enter_private_netns()).
int run_in_cgroup(const std::string& cgroup_path, bool own_netns, const std::function<int()>& fn);

// In the calling process: a new network namespace with lo up and, when given, `address`/32
// on lo, so that traffic to it is local, is judged by the programs like any non-loopback
// destination (an LPM lookup), and never leaves the namespace.
void enter_private_netns(const std::string& address = "");

// One write(2) of `text` to an existing file (cgroup.procs and other cgroupfs knobs).
void write_file(const std::string& path, const std::string& text);
// rmdir of a cgroup and everything below it, children first.
void remove_cgroup_tree(const std::string& path);

// Ids of the programs attached to the cgroup directory `cgroup` for `type`, as the kernel
// reports them. lsm_cgroup programs are found through their links (cgroup_id and attach
// type): a BPF_PROG_QUERY for BPF_LSM_CGROUP by attach type alone is refused (EINVAL).
std::vector<__u32> attached_program_ids(const std::string& cgroup, bpf_attach_type type);

}  // namespace ojh::test
