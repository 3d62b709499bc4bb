// SPDX-License-Identifier: Apache-2.0
#include "bench/hook_scale.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "bench/stats.hpp"
#include "bench/timed_exec.hpp"
#include "bpf/block_host_abi.h"
#include "hook/file.hpp"
#include "hook/pin_dir.hpp"
#include "hook/shared_objects.hpp"
#include "oci/error.hpp"
#include "tests/support/sandbox.hpp"

namespace ojh::bench {
using test::fork_in_cgroup;
using test::remove_cgroup_tree;
using test::Sandbox;
using test::wait_exit_status;
using test::write_file;

namespace {

struct HookRun {
  double wall_us = 0;  // execve of the hook until the runtime reaped it
  std::vector<std::pair<std::string, double>> phases;  // --timing, in order, with "total"
};

struct Container {
  std::string id;
  std::string cgroup;
  pid_t sleeper = -1;
  std::uint64_t cgroup_id = 0;
};

// The installed hook, invoked as a runtime invokes it (state on stdin), optionally inside a
// memory cgroup so that what it allocates in the kernel is accounted there.
class HookRunner {
 public:
  HookRunner(std::string hook, std::string pin_dir, const std::string& memcg)
      : hook_(std::move(hook)),
        pin_dir_(std::move(pin_dir)),
        memcg_procs_(memcg.empty() ? "" : memcg + "/cgroup.procs") {}

  HookRun run(const std::string& command, const std::string& state) {
    std::vector<std::string> argv = {hook_, "--pin-dir", pin_dir_};
    if (command == "create-runtime") argv.push_back("--timing");
    argv.push_back(command);
    const ExecResult e = exec_.run(argv, state, memcg_procs_);
    if (e.status != 0)
      throw Error("hook " + command + " exited " + std::to_string(e.status) + ": " + e.stderr_text);
    HookRun r;
    r.wall_us = e.wall_us;
    parse_timing(e.stderr_text, r);
    r.phases.emplace_back("cpu", e.cpu_us);  // not a phase: the process's CPU time
    return r;
  }

 private:
  // "oci-jail-hook: timing parse=12us resolve=40us ... total=900us"
  static void parse_timing(const std::string& text, HookRun& r) {
    const auto at = text.find("oci-jail-hook: timing");
    if (at == std::string::npos) return;
    std::istringstream words(text.substr(at, text.find('\n', at) - at));
    std::string word;
    while (words >> word) {
      const auto eq = word.find('=');
      if (eq == std::string::npos || word.size() < eq + 3) continue;
      r.phases.emplace_back(word.substr(0, eq), std::stod(word.substr(eq + 1)));
    }
  }

  std::string hook_;
  std::string pin_dir_;
  std::string memcg_procs_;
  TimedExec exec_;
};

std::string state_json(const Container& c, const std::string& bundle, bool create) {
  return std::string("{\"ociVersion\":\"1.0.2\",\"id\":\"") + c.id + "\",\"status\":\"" +
         (create ? "creating" : "stopped") + "\"" +
         (create ? ",\"pid\":" + std::to_string(c.sleeper) : std::string()) + ",\"bundle\":\"" +
         bundle + "\",\"annotations\":{\"jail.block-host\":\"true\"}}";
}

Container make_container(Sandbox& sandbox, const std::string& id) {
  Container c;
  c.id = id;
  c.cgroup = sandbox.make_cgroup(id);
  c.sleeper = ::fork();
  if (c.sleeper < 0) throw Error("fork", errno);
  if (c.sleeper == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) ::pause();
  }
  // The parent moves it, so it is in place before the hook reads /proc/<pid>/cgroup.
  write_file(c.cgroup + "/cgroup.procs", std::to_string(c.sleeper));
  struct stat st {};
  if (::stat(c.cgroup.c_str(), &st) != 0) throw Error("stat " + c.cgroup, errno);
  c.cgroup_id = st.st_ino;
  return c;
}

void kill_sleeper(Container& c) {
  if (c.sleeper < 0) return;
  ::kill(c.sleeper, SIGKILL);
  wait_exit_status(c.sleeper);
  c.sleeper = -1;
}

// What runc does when a container ends: the process is gone and the cgroup removed before
// the poststop hook runs.
void stop_container(Container& c) {
  kill_sleeper(c);
  remove_cgroup_tree(c.cgroup);
}

// ---- kernel-side accounting -------------------------------------------------------------

std::uint64_t fdinfo_memlock(int fd) {
  const std::string text = read_file_bounded("/proc/self/fdinfo/" + std::to_string(fd), 1 << 20);
  const auto at = text.find("memlock:");
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + 8));
}

// memlock of every pinned shared object, by name: what `bpftool map/prog show` print as
// bytes_memlock. Links have no memlock figure.
std::map<std::string, std::uint64_t> memlock_by_object(const PinDir& pins) {
  std::map<std::string, std::uint64_t> out;
  for (const std::string& name : list_dir(pins.objects_dir())) {
    // Records (the objects' build) are symlinks beside the pins, not BPF objects.
    struct stat st {};
    if (::lstat((pins.objects_dir() + "/" + name).c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      continue;
    Fd fd(bpf_obj_get((pins.objects_dir() + "/" + name).c_str()));
    if (!fd) throw Error("open pin " + name, errno);
    out[name] = fdinfo_memlock(fd.get());
  }
  return out;
}

std::uint64_t sum(const std::map<std::string, std::uint64_t>& m) {
  std::uint64_t s = 0;
  for (const auto& [name, v] : m) s += v;
  return s;
}

// Kernel memory charged to the memcg: v1 memory.kmem.usage_in_bytes, or v2 memory.stat
// "kernel". -1 when neither is there.
double memcg_kernel_bytes(const std::string& memcg) {
  if (memcg.empty()) return -1;
  struct stat st {};
  if (::stat((memcg + "/memory.kmem.usage_in_bytes").c_str(), &st) == 0)
    return std::stod(read_file_bounded(memcg + "/memory.kmem.usage_in_bytes", 1 << 20));
  if (::stat((memcg + "/memory.stat").c_str(), &st) == 0) {
    std::istringstream in(read_file_bounded(memcg + "/memory.stat", 1 << 20));
    std::string key;
    double value;
    while (in >> key >> value)
      if (key == "kernel") return value;
  }
  return -1;
}

std::set<std::uint32_t> our_prog_ids(const SharedObjects& objs) {
  std::set<std::uint32_t> ids;
  for (const Fd& p : objs.programs) {
    if (!p) continue;  // an optional program this kernel lacks
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(p.get(), &info, &len) != 0) throw Error("prog info", errno);
    ids.insert(info.id);
  }
  return ids;
}

// Every bpf_link in the kernel (the list `bpftool link list` prints) that runs one of our
// programs.
std::size_t count_our_links(const std::set<std::uint32_t>& prog_ids) {
  std::size_t n = 0;
  __u32 id = 0;
  while (bpf_link_get_next_id(id, &id) == 0) {
    Fd fd(bpf_link_get_fd_by_id(id));
    if (!fd) continue;  // gone meanwhile
    bpf_link_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 && prog_ids.count(info.prog_id)) ++n;
  }
  return n;
}

template <typename Key, typename PolicyOf>
std::pair<std::size_t, std::size_t> count_keys(int fd, const std::set<std::uint64_t>& policies,
                                               PolicyOf policy_of) {
  std::size_t total = 0, ours = 0;
  Key cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    ++total;
    if (policies.count(policy_of(next))) ++ours;
    cur = next;
    prev = &cur;
  }
  return {total, ours};
}

// Entries of the shared maps: in total, and those that belong to the listed policy ids.
struct MapCensus {
  std::array<std::size_t, 4> total{};  // rules4, rules6, allow, policy storage
  std::array<std::size_t, 4> ours{};
  std::size_t all_ours() const { return ours[0] + ours[1] + ours[2] + ours[3]; }
  std::size_t all() const { return total[0] + total[1] + total[2] + total[3]; }
  std::string describe_ours() const {
    return "rules4 " + std::to_string(ours[0]) + ", rules6 " + std::to_string(ours[1]) +
           ", allow " + std::to_string(ours[2]) + ", policy " + std::to_string(ours[3]);
  }
};

MapCensus map_census(const SharedObjects& objs, const std::set<std::uint64_t>& policies) {
  const auto lpm4 = [](const ojh_lpm_key4& k) {
    return (std::uint64_t{k.policy_hi} << 32) | k.policy_lo;
  };
  const auto lpm6 = [](const ojh_lpm_key6& k) {
    return (std::uint64_t{k.policy_hi} << 32) | k.policy_lo;
  };
  const auto exc = [](const ojh_exception_key& k) {
    return (std::uint64_t{k.policy_hi} << 32) | k.policy_lo;
  };
  const auto id = [](const std::uint64_t& k) { return k; };
  MapCensus c;
  std::tie(c.total[0], c.ours[0]) = count_keys<ojh_lpm_key4>(objs.rules4.get(), policies, lpm4);
  std::tie(c.total[1], c.ours[1]) = count_keys<ojh_lpm_key6>(objs.rules6.get(), policies, lpm6);
  std::tie(c.total[2], c.ours[2]) = count_keys<ojh_exception_key>(objs.allow.get(), policies, exc);
  std::tie(c.total[3], c.ours[3]) = count_keys<std::uint64_t>(objs.policy.get(), policies, id);
  return c;
}

// What the kernel still holds for our programs while no container is enforced.
struct Leftovers {
  std::size_t links = 0;
  MapCensus census;
  double waited_ms = 0;
};

// The kernel frees a removed cgroup's BPF state (its policy storage, the links' hold on
// it) from work items after the last reference goes, so wait (up to 5 s) for links and map
// entries to drain before calling anything left a leak. Only call it when no container is
// enforced in this bench's private pin directory: then the right answer is zero.
Leftovers settle(const SharedObjects& objs, const std::set<std::uint32_t>& progs,
                 const std::set<std::uint64_t>& policies) {
  Leftovers l;
  for (int i = 0;; ++i) {
    l.links = count_our_links(progs);
    l.census = map_census(objs, policies);
    l.waited_ms = i * 50.0;
    if ((l.links == 0 && l.census.all() == 0) || i == 100) return l;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// ---- reporting --------------------------------------------------------------------------

struct Window {
  std::size_t first, last;  // 1-based container numbers, inclusive
};

Window window_at(std::size_t nth, std::size_t width, std::size_t count) {
  width = std::min(width, count);
  std::size_t first = nth > width / 2 ? nth - width / 2 : 1;
  first = std::min(first, count - width + 1);
  return {first, first + width - 1};
}

Summary window_summary(const std::vector<HookRun>& runs, Window w, const std::string& phase) {
  std::vector<double> v;
  for (std::size_t i = w.first; i <= w.last; ++i) {
    const HookRun& r = runs[i - 1];
    if (phase == "wall") {
      v.push_back(r.wall_us);
    } else {
      const auto it = std::find_if(r.phases.begin(), r.phases.end(),
                                   [&](const auto& p) { return p.first == phase; });
      v.push_back(it == r.phases.end() ? 0 : it->second);
    }
  }
  return summarize(v);
}

std::string ms(double us) { return fixed(us / 1000.0, 2) + " ms"; }

std::string ordinal(std::size_t n) {
  const std::size_t tens = n % 100, ones = n % 10;
  const char* suffix = (tens >= 11 && tens <= 13) ? "th"
                       : ones == 1                ? "st"
                       : ones == 2                ? "nd"
                       : ones == 3                ? "rd"
                                                  : "th";
  return std::to_string(n) + suffix;
}

double cpu_of(const HookRun& r) {
  for (const auto& [name, us] : r.phases)
    if (name == "cpu") return us;
  return 0;
}

// Median of every phase the hook reported, in the hook's order.
std::string phases_line(const std::vector<HookRun>& runs, Window w) {
  std::vector<std::string> names;
  for (std::size_t i = w.first; i <= w.last; ++i)
    for (const auto& [name, us] : runs[i - 1].phases)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  std::string out;
  for (const std::string& p : names)
    out += std::string(out.empty() ? "" : " ") + p + "=" +
           fixed(window_summary(runs, w, p).median, 0) + "us";
  return out;
}

std::string kib(double bytes) { return fixed(bytes / 1024.0, 2) + " KiB"; }

// Kernel memory of the pin layout alone, to split the memcg figure: a child in the memcg
// makes `count` copies of one container's bpffs layout (a directory, a pin per loaded
// program, the cgroup-<id> record directory) pinning one object, and reports the memcg
// growth per copy.
double pin_layout_bytes(const std::string& memcg, const std::string& dir, int object_fd,
                        std::size_t links, int count) {
  const pid_t pid = fork_in_cgroup(memcg, [&] {
    const double before = memcg_kernel_bytes(memcg);
    for (int i = 0; i < count; ++i) {
      const std::string c = dir + "/c" + std::to_string(i);
      make_private_dir(c);
      for (std::size_t l = 0; l < links; ++l)
        if (bpf_obj_pin(object_fd, (c + "/" + std::string(kPrograms[l].name)).c_str()) != 0)
          return 1;
      make_private_dir(c + "/cgroup-" + std::to_string(1000000 + i));
    }
    const double per = (memcg_kernel_bytes(memcg) - before) / count;
    for (int i = 0; i < count; ++i) remove_pin_dir(dir + "/c" + std::to_string(i));
    // The result travels as the exit status, in units of 64 bytes.
    return static_cast<int>(std::min(250.0, std::max(0.0, per / 64.0)));
  });
  const int status = wait_exit_status(pid);
  return status > 250 ? -1 : status * 64.0;
}

// Hook runs with every measured container enforced and with none, taken in turns.
struct Interleaved {
  std::vector<double> with_all_cpu, with_none_cpu, with_all_wall, with_none_wall;
  std::vector<double> stop_with_all_cpu, stop_with_none_cpu;
};

// One more container enforced and released where all the measured ones are, then one on a
// host with none, in turns: the load of this shared VM falls on both alike (the ramp's 1st
// and last windows are minutes apart). The host with none is a second pin directory on the
// same bpffs, with objects and maps of its own and no container; its first runs load the
// programs and are not counted.
Interleaved compare_interleaved(const HookScaleOptions& opt, Sandbox& sandbox,
                                const std::string& bundle, HookRunner& with_all) {
  const std::string pin_dir = sandbox.pin_dir();
  HookRunner with_none(opt.hook, pin_dir.substr(0, pin_dir.rfind('/')) + "/pins-none", "");
  auto enforce_and_release = [&](HookRunner& runner, const std::string& id) {
    Container c = make_container(sandbox, id);
    const HookRun created = runner.run("create-runtime", state_json(c, bundle, true));
    stop_container(c);
    const HookRun stopped = runner.run("poststop", state_json(c, bundle, false));
    return std::make_pair(created, stopped);
  };
  for (int i = 0; i < 2; ++i) enforce_and_release(with_none, "n-warm-" + std::to_string(i));
  std::fprintf(stderr, "ojh-bench: hook-scale: %d interleaved pairs\n", opt.pairs);
  Interleaved out;
  for (int i = 0; i < opt.pairs; ++i) {
    // Which goes first alternates, so neither always runs right after the other.
    for (const bool all : i % 2 == 0 ? std::array{true, false} : std::array{false, true}) {
      const auto [created, stopped] = enforce_and_release(
          all ? with_all : with_none, (all ? "p-all-" : "p-none-") + std::to_string(i));
      (all ? out.with_all_cpu : out.with_none_cpu).push_back(cpu_of(created));
      (all ? out.with_all_wall : out.with_none_wall).push_back(created.wall_us);
      (all ? out.stop_with_all_cpu : out.stop_with_none_cpu).push_back(cpu_of(stopped));
    }
  }
  return out;
}

}  // namespace

int run_hook_scale(const HookScaleOptions& opt) {
  if (opt.count < opt.window) throw Error("--count must be at least --window");
  Sandbox sandbox("bench-scale");
  char bundle_tmpl[] = "/tmp/ojh-bench-bundle-XXXXXX";
  if (!::mkdtemp(bundle_tmpl)) throw Error("mkdtemp", errno);
  const std::string bundle = bundle_tmpl;
  {
    Fd f(::open((bundle + "/config.json").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!f || ::write(f.get(), "{}\n", 3) != 3) throw Error("write config.json", errno);
  }
  HookRunner hook(opt.hook, sandbox.pin_dir(), opt.memcg);

  // What any run of this binary costs before it does anything (exec, dynamic linking of
  // libstdc++/boost/libbpf, exit), next to the cheapest possible program.
  TimedExec exec;
  std::vector<double> version_wall, version_cpu, true_wall, true_cpu;
  for (int i = 0; i < 31; ++i) {
    const ExecResult v = exec.run({opt.hook, "--version"}, "");
    const ExecResult t = exec.run({"/bin/true"}, "");
    version_wall.push_back(v.wall_us);
    version_cpu.push_back(v.cpu_us);
    true_wall.push_back(t.wall_us);
    true_cpu.push_back(t.cpu_us);
  }

  // Warm-up: the very first run loads and pins the programs (a once-per-boot cost); the
  // next ones warm the page cache and the dynamic loader. All are released again.
  std::vector<HookRun> warm;
  for (int i = 1; i <= opt.warmup; ++i) {
    Container c = make_container(sandbox, "w-" + std::to_string(i));
    warm.push_back(hook.run("create-runtime", state_json(c, bundle, true)));
    stop_container(c);
    hook.run("poststop", state_json(c, bundle, false));
  }

  std::fprintf(stderr, "ojh-bench: hook-scale: starting %d sleeping containers\n", opt.count);
  std::vector<Container> containers;
  containers.reserve(opt.count);
  for (int i = 1; i <= opt.count; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "b-%04d", i);
    containers.push_back(make_container(sandbox, id));
  }

  const auto pins = PinDir::open_existing(sandbox.pin_dir());
  SharedObjects objs;
  if (!pins || !SharedObjects::open_existing(*pins, objs))
    throw Error("the warm-up hooks left no shared objects in " + sandbox.pin_dir());
  const std::set<std::uint32_t> progs = our_prog_ids(objs);
  std::set<std::uint64_t> policies;
  for (const Container& c : containers) policies.insert(c.cgroup_id);

  const Leftovers before = settle(objs, progs, policies);  // the warm-ups' state drains
  const auto memlock_before = memlock_by_object(*pins);
  const double kmem_before = memcg_kernel_bytes(opt.memcg);

  std::fprintf(stderr, "ojh-bench: hook-scale: create-runtime x %d\n", opt.count);
  std::vector<HookRun> runs;
  for (const Container& c : containers)
    runs.push_back(hook.run("create-runtime", state_json(c, bundle, true)));

  const auto memlock_after = memlock_by_object(*pins);
  const double kmem_after = memcg_kernel_bytes(opt.memcg);
  const std::size_t links_after = count_our_links(progs);
  const MapCensus census_after = map_census(objs, policies);
  const std::size_t enforced_after = list_dir(pins->containers_dir()).size();

  const Interleaved interleaved = compare_interleaved(opt, sandbox, bundle, hook);

  // The containers' processes exit first (as they would before poststop): what the hook
  // left in the kernel only for the process's lifetime (dentries of /proc/<pid>, read to
  // find the cgroup) goes with them; what stays is the enforcement itself.
  for (Container& c : containers) kill_sleeper(c);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // RCU-deferred frees
  const double kmem_exited = memcg_kernel_bytes(opt.memcg);

  std::fprintf(stderr, "ojh-bench: hook-scale: poststop x %d\n", opt.count);
  std::vector<HookRun> stops;
  for (Container& c : containers) {
    stop_container(c);
    stops.push_back(hook.run("poststop", state_json(c, bundle, false)));
  }

  // Leak check: nothing of the measured containers may be left anywhere.
  const std::size_t pins_left = list_dir(pins->containers_dir()).size();
  const Leftovers left = settle(objs, progs, policies);
  std::size_t cgroups_left = 0;
  for (const Container& c : containers) {
    struct stat st {};
    if (::stat(c.cgroup.c_str(), &st) == 0) ++cgroups_left;
  }
  const auto memlock_left = memlock_by_object(*pins);
  const double kmem_left = memcg_kernel_bytes(opt.memcg);

  const std::size_t n = containers.size();
  const Window first = window_at(1, opt.window, n);
  const Window last = window_at(n, opt.window, n);
  const Summary s_first = window_summary(runs, first, "wall");
  const Summary s_last = window_summary(runs, last, "wall");
  const Summary t_first = window_summary(runs, first, "total");
  const Summary t_last = window_summary(runs, last, "total");
  const auto range = [](Window w) {
    return "#" + std::to_string(w.first) + "-" + std::to_string(w.last);
  };

  // The verdict: the hook's CPU time (user + system of the process, exec included) with n
  // containers enforced against none, interleaved (compare_interleaved).
  const Summary with_n = summarize(interleaved.with_all_cpu);
  const Summary with_none = summarize(interleaved.with_none_cpu);
  Row scale;
  scale.metric = "hook create-runtime time (CPU time of the hook process), with " +
                 std::to_string(n) + " containers enforced / with none (interleaved)";
  scale.target = "≤ 1.2";
  scale.measured = "with " + std::to_string(n) + " " + ms(with_n.median) + " (p10-p90 " +
                   ms(with_n.p10) + "-" + ms(with_n.p90) + "), with none " + ms(with_none.median) +
                   " (p10-p90 " + ms(with_none.p10) + "-" + ms(with_none.p90) + "), " +
                   std::to_string(interleaved.with_all_cpu.size()) +
                   " runs each; first ever, incl. program load: " + ms(cpu_of(warm.at(0))) +
                   " (wall " + ms(warm.at(0).wall_us) + ")";
  const double ratio = with_n.median / with_none.median;
  scale.ratio = fixed(ratio, 2);
  scale.met = ratio <= 1.2;
  print_row(scale);
  print_detail("hook scale, interleaved: wall median with " + std::to_string(n) + " " +
               ms(summarize(interleaved.with_all_wall).median) + ", with none " +
               ms(summarize(interleaved.with_none_wall).median) + "; poststop CPU median with " +
               std::to_string(n) + " " + ms(summarize(interleaved.stop_with_all_cpu).median) +
               ", with none " + ms(summarize(interleaved.stop_with_none_cpu).median));
  // The ramp: the 1st and the last window are minutes apart, so a change in the load of this
  // shared VM between them goes into their ratio; it is shown, not judged.
  const Summary c_first = window_summary(runs, first, "cpu");
  const Summary c_last = window_summary(runs, last, "cpu");
  print_detail("hook scale, the ramp (not interleaved): CPU median of the 1st containers " +
               ms(c_first.median) + " (" + range(first) + "), of the " + ordinal(n) + " " +
               ms(c_last.median) + " (" + range(last) + "), ratio " +
               fixed(c_last.median / c_first.median, 2) + "; wall ratio " +
               fixed(s_last.median / s_first.median, 2) + "; in-process --timing total: 1st " +
               ms(t_first.median) + ", " + ordinal(n) + " " + ms(t_last.median) + " (ratio " +
               fixed(t_last.median / t_first.median, 2) + ")");
  print_detail("hook scale: exec floor (31 runs): `oci-jail-hook --version` wall median " +
               ms(summarize(version_wall).median) + ", CPU " + ms(summarize(version_cpu).median) +
               "; /bin/true wall " + ms(summarize(true_wall).median) + ", CPU " +
               ms(summarize(true_cpu).median));
  print_detail("hook scale: first ever run (verifies and loads the programs): " +
               ms(warm.at(0).wall_us) + " wall; phases " + phases_line(warm, {1, 1}));
  std::set<std::size_t> shown;
  for (std::size_t nth : {std::size_t{1}, std::size_t{100}, std::size_t{250}, std::size_t{500},
                          std::size_t{750}, n}) {
    if (nth > n) continue;
    const Window w = window_at(nth, opt.window, n);
    if (!shown.insert(w.first).second) continue;
    print_detail("hook scale: container " + range(w) + ": wall median " +
                 ms(window_summary(runs, w, "wall").median) + ", p90 " +
                 ms(window_summary(runs, w, "wall").p90) + "; phases " + phases_line(runs, w));
  }
  print_detail("hook scale: poststop wall median: first " + std::to_string(opt.window) + " " +
               ms(window_summary(stops, first, "wall").median) + ", last " +
               std::to_string(opt.window) + " " + ms(window_summary(stops, last, "wall").median));

  // Memory.
  const double memlock_per = (static_cast<double>(sum(memlock_after)) - sum(memlock_before)) / n;
  Row mem;
  mem.metric = "kernel memory per extra enforced container (fdinfo memlock of maps + progs)";
  mem.target = "≤ 8 KiB";
  mem.measured = kib(memlock_per) + " (" + std::to_string(sum(memlock_before)) + " B with 0, " +
                 std::to_string(sum(memlock_after)) + " B with " + std::to_string(n) + ")";
  mem.ratio = fixed(memlock_per / 8192.0, 2) + " of budget";
  mem.met = memlock_per <= 8192;
  print_row(mem);
  std::string per_object;
  for (const auto& [name, after] : memlock_after) {
    const double d = static_cast<double>(after) - memlock_before.at(name);
    if (d != 0) per_object += name + " +" + fixed(d / n, 0) + " B, ";
  }
  print_detail("memlock growth per container by object: " + per_object +
               "(links and cgroup storage values have no memlock figure)");
  if (kmem_before >= 0) {
    const double kmem_per = (kmem_after - kmem_before) / n;
    Row k;
    k.metric =
        "kernel memory per extra enforced container (memcg kmem of the hook processes "
        "and of the maps they created)";
    k.target = "≤ 8 KiB";
    k.measured = kib(kmem_per) + " (" + fixed(kmem_before / 1024, 0) + " KiB with 0, " +
                 fixed(kmem_after / 1024, 0) + " KiB with " + std::to_string(n) + ")";
    k.ratio = fixed(kmem_per / 8192.0, 2) + " of budget";
    k.met = kmem_per <= 8192;
    print_row(k);
    print_detail(
        "memcg kmem per container once the containers' processes exited (cgroups, "
        "links, pins and rules still there): " +
        kib((kmem_exited - kmem_before) / n) +
        "; after poststop of all: " + fixed(kmem_left / 1024, 0) + " KiB (" +
        fixed((kmem_left - kmem_before) / 1024, 0) + " KiB above the 0-container level)");
    const std::string layout_dir = pins->version_dir() + "/bench-layout";
    make_private_dir(layout_dir);
    const double layout =
        pin_layout_bytes(opt.memcg, layout_dir, objs.policy.get(), objs.loaded_count(), n);
    remove_pin_dir(layout_dir);
    print_detail(
        "memcg kmem of the bpffs pin layout alone (a directory, " +
        std::to_string(objs.loaded_count()) +
        " link pins, one per program loaded here, and the cgroup-<id> record directory per "
        "container, made " +
        std::to_string(n) + " times by a process in the same memcg): about " + kib(layout) +
        " per container (resolution 64 B)");
  } else {
    print_detail(
        "memcg kernel memory: not measured (no --memcg with memory.kmem.usage_in_bytes "
        "or memory.stat)");
  }

  // Leaks.
  Row leak;
  leak.metric =
      "left after poststop of all " + std::to_string(n) + " (pins / links / map entries / cgroups)";
  leak.target = "0 / 0 / 0 / 0";
  leak.measured = std::to_string(pins_left) + " / " + std::to_string(left.links) + " / " +
                  std::to_string(left.census.all()) + " / " + std::to_string(cgroups_left);
  leak.ratio = "-";
  leak.met = pins_left == 0 && left.links == 0 && left.census.all() == 0 && cgroups_left == 0 &&
             sum(memlock_left) == sum(memlock_before);
  print_row(leak);
  print_detail("while all " + std::to_string(n) +
               " were enforced: " + std::to_string(enforced_after) + " container pin dirs, " +
               std::to_string(links_after - before.links) + " links on our programs, map entries " +
               census_after.describe_ours() + "; after poststop: " + left.census.describe_ours() +
               " (all entries " + std::to_string(left.census.all()) + ", before the measured " +
               "containers " + std::to_string(before.census.all()) + "; waited " +
               fixed(left.waited_ms, 0) +
               " ms for the kernel's deferred cgroup release), memlock " +
               std::to_string(sum(memlock_left)) + " B (before " +
               std::to_string(sum(memlock_before)) + " B)");

  ::unlink((bundle + "/config.json").c_str());
  ::rmdir(bundle.c_str());
  return 0;
}

}  // namespace ojh::bench
