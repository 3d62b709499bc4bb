// SPDX-License-Identifier: Apache-2.0
#include "hook/enforcement.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

#include "hook/exception_map.hpp"
#include "hook/phase_timer.hpp"
#include "hook/rule_maps.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

struct OpenCgroup {
  Fd fd;
  std::uint64_t id;
};

OpenCgroup open_cgroup(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw Error("open cgroup " + path, errno);
  struct statfs sfs {};
  if (::fstatfs(fd.get(), &sfs) != 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
    throw Error(path + " is not a cgroup2 directory");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error("stat cgroup " + path, errno);
  // On cgroup2 the inode number is the kernfs id that bpf_get_current_cgroup_id() and
  // bpf_link info report.
  return {std::move(fd), static_cast<std::uint64_t>(st.st_ino)};
}

// Cgroup id a pinned link is attached to; 0 when the link is detached (cgroup removed).
std::uint64_t link_cgroup_id(int link_fd) {
  bpf_link_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(link_fd, &info, &len) != 0) throw Error("read bpf_link info", errno);
  return info.cgroup.cgroup_id;
}

constexpr std::string_view kCgroupRecord = "cgroup-";

// The cgroup id a container's pins were made for. It is recorded in the name of an empty
// directory beside the link pins because a link forgets its cgroup once the cgroup is
// removed, and runtimes remove the cgroup before they run poststop.
std::uint64_t recorded_cgroup_id(const std::string& dir) {
  for (const std::string& name : list_dir(dir)) {
    if (name.rfind(kCgroupRecord, 0) != 0) continue;
    try {
      return std::stoull(name.substr(kCgroupRecord.size()));
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

// Whether the pinned links still hold on to a live cgroup.
std::uint64_t live_link_cgroup_id(const std::string& dir) {
  for (const ProgramSpec& p : kPrograms) {
    Fd link(bpf_obj_get((dir + "/" + std::string(p.name)).c_str()));
    if (!link) continue;
    if (std::uint64_t id = link_cgroup_id(link.get())) return id;
  }
  return 0;
}

void write_policy(const SharedObjects& objs, std::uint64_t cgroup_id, const EnforceRequest& req) {
  ojh_policy policy{};
  policy.policy_id = cgroup_id;
  policy.host_netns_cookie = req.host_netns_cookie;
  policy.flags = req.audit ? OJH_POLICY_AUDIT : 0;
  if (bpf_map_update_elem(objs.policy.get(), &cgroup_id, &policy, BPF_ANY) != 0)
    throw Error("write container policy", errno);
}

// Whether the shared connect4 program is attached to this very cgroup, through any link.
// The policy storage cannot tell: the kernel keeps a cgroup's storage until the cgroup is
// freed, long after the links are gone.
bool shared_program_attached(const SharedObjects& objs, int cgroup_fd) {
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(objs.programs[0].get(), &info, &len) != 0)
    throw Error("read program info", errno);
  std::array<__u32, 64> ids{};  // the kernel attaches at most 64 programs per type
  __u32 count = ids.size();
  if (bpf_prog_query(cgroup_fd, kPrograms[0].attach_type, 0, nullptr, ids.data(), &count) != 0)
    throw Error("list the programs attached to a cgroup", errno);
  return std::find(ids.begin(), ids.begin() + count, info.id) != ids.begin() + count;
}

bool complete_pin_set(const std::string& dir) {
  const auto names = list_dir(dir);
  for (const ProgramSpec& p : kPrograms) {
    bool found = false;
    for (const auto& n : names) found = found || n == p.name;
    if (!found) return false;
  }
  return true;
}

}  // namespace

EnforceResult enforce(const PinDir& pins, const SharedObjects& objs, const EnforceRequest& req) {
  OpenCgroup cgroup = open_cgroup(req.cgroup_fs_path);
  const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
  const ExceptionMap exceptions(objs.allow.get());
  const std::string final_dir = pins.container_dir(req.container_id);

  // Idempotence: a complete set of live links on this very cgroup means a previous run
  // succeeded; bring its rules and policy up to date rather than attach twice. Insert before
  // delete: the programs read the maps meanwhile, and a rule that stays must never blink.
  if (complete_pin_set(final_dir) && live_link_cgroup_id(final_dir) == cgroup.id) {
    try {
      rules.apply(cgroup.id, replace_rules(rules.list(cgroup.id), req.rules));
      exceptions.replace(cgroup.id, req.exceptions);
      write_policy(objs, cgroup.id, req);
    } catch (...) {
      // Half the rules would be a silent gap: take everything down, the runtime then
      // refuses to start the container.
      remove_pin_dir(final_dir);
      rules.erase(cgroup.id);
      exceptions.erase(cgroup.id);
      throw;
    }
    return {cgroup.id, true};
  }
  // Anything else under that name is stale (container id reused, half-made): drop it.
  if (std::uint64_t stale = recorded_cgroup_id(final_dir)) {
    rules.erase(stale);
    exceptions.erase(stale);
  }
  remove_pin_dir(final_dir);

  // Our programs on this cgroup now mean another container id holds it, and the two would
  // share (and at poststop, remove) one policy. Links whose last fd died with a killed hook
  // are released by a kernel work item: give them a moment first.
  bool attached = shared_program_attached(objs, cgroup.fd.get());
  for (int i = 0; attached && i < 20; ++i) {
    ::usleep(10 * 1000);
    attached = shared_program_attached(objs, cgroup.fd.get());
  }
  if (attached)
    throw Error("cgroup " + req.cgroup_fs_path +
                " is already enforced for another container; refusing to share it");

  const std::string staging = pins.staging_dir("container-" + req.container_id);
  std::vector<Fd> links;
  try {
    // Cgroup ids are never reused, so a new cgroup has no entries to clear first: the
    // container's rules and exceptions are written (and on failure deleted) key by key, in
    // O(its own rules), never with a walk over every container's.
    rules.insert(cgroup.id, req.rules);
    exceptions.insert(cgroup.id, req.exceptions);
    phase("populate");
    for (const ProgramSpec& p : kPrograms) {
      const int prog = objs.programs[&p - kPrograms.data()].get();
      Fd link(bpf_link_create(prog, cgroup.fd.get(), p.attach_type, nullptr));
      if (!link) throw Error("attach " + std::string(p.name) + " to " + req.cgroup_fs_path, errno);
      links.push_back(std::move(link));
      // The policy storage exists once the first link does; until it is written the
      // programs deny everything (policy_id == 0), so there is no open window.
      if (links.size() == 1) write_policy(objs, cgroup.id, req);
    }
    phase("attach");
    remove_pin_dir(staging);
    make_private_dir(staging);
    for (std::size_t i = 0; i < links.size(); ++i) {
      const std::string path = staging + "/" + std::string(kPrograms[i].name);
      if (bpf_obj_pin(links[i].get(), path.c_str()) != 0) throw Error("pin " + path, errno);
    }
    make_private_dir(staging + "/" + std::string(kCgroupRecord) + std::to_string(cgroup.id));
    if (::rename(staging.c_str(), final_dir.c_str()) != 0)
      throw Error("publish " + final_dir, errno);
    phase("pin");
  } catch (...) {
    // Closing the fds detaches the links; unpinning drops the last other reference.
    remove_pin_dir(staging);
    links.clear();
    // Best effort: the original error is the one to report, and a key the kernel refused
    // to insert (the likely cause) cannot be deleted either.
    try {
      rules.erase_each(cgroup.id, req.rules);
    } catch (const Error&) {
    }
    try {
      exceptions.erase_each(cgroup.id, req.exceptions);
    } catch (const Error&) {
    }
    throw;
  }
  return {cgroup.id, false};
}

bool release(const PinDir& pins, const SharedObjects& objs, const std::string& container_id) {
  const std::string dir = pins.container_dir(container_id);
  if (list_dir(dir).empty()) {
    remove_pin_dir(dir);
    return false;
  }
  const std::uint64_t cgroup_id = recorded_cgroup_id(dir);
  // Unpinning alone frees the link from a kernel work item, a moment later; an explicit
  // detach takes the programs off the cgroup before poststop returns.
  for (const ProgramSpec& p : kPrograms) {
    Fd link(bpf_obj_get((dir + "/" + std::string(p.name)).c_str()));
    if (link && bpf_link_detach(link.get()) != 0 && errno != ENOLINK)
      throw Error("detach " + std::string(p.name) + " link of container " + container_id, errno);
  }
  remove_pin_dir(dir);
  if (cgroup_id) {
    RuleMaps(objs.rules4.get(), objs.rules6.get()).erase(cgroup_id);
    ExceptionMap(objs.allow.get()).erase(cgroup_id);
  }
  return true;
}

std::vector<EnforcedContainer> list_enforced(const PinDir& pins, const SharedObjects& objs) {
  std::vector<EnforcedContainer> out;
  const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
  const int ncpus = libbpf_num_possible_cpus();
  for (const std::string& name : list_dir(pins.containers_dir())) {
    EnforcedContainer c;
    c.id = container_id_from_pin_name(name);
    const std::string& id = c.id;
    for (const std::string& name : list_dir(pins.container_dir(id)))
      if (name.rfind(kCgroupRecord, 0) != 0) c.links.push_back(name);
    c.cgroup_id = recorded_cgroup_id(pins.container_dir(id));
    c.cgroup_alive = c.cgroup_id != 0 && live_link_cgroup_id(pins.container_dir(id)) == c.cgroup_id;
    if (c.cgroup_id) {
      c.rules = rules.list(c.cgroup_id);
      c.exceptions = ExceptionMap(objs.allow.get()).list(c.cgroup_id);
    }
    if (c.cgroup_alive) {
      bpf_map_lookup_elem(objs.policy.get(), &c.cgroup_id, &c.policy);
      std::vector<ojh_counters> per_cpu(ncpus > 0 ? ncpus : 1);
      if (bpf_map_lookup_elem(objs.counters.get(), &c.cgroup_id, per_cpu.data()) == 0) {
        for (const ojh_counters& pc : per_cpu) {
          for (int k = 0; k < OJH_HOOK_MAX; ++k) {
            c.counters.denied[k] += pc.denied[k];
            c.counters.audited[k] += pc.audited[k];
          }
        }
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::size_t refresh_host_rules(const PinDir& pins, const SharedObjects& objs,
                               std::uint64_t host_netns_cookie,
                               const std::vector<Rule>& host_rules) {
  const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
  std::size_t updated = 0;
  for (const EnforcedContainer& c : list_enforced(pins, objs)) {
    if (!c.cgroup_alive || c.policy.host_netns_cookie != host_netns_cookie) continue;
    rules.apply(c.cgroup_id, replace_host_rules(c.rules, host_rules));
    ++updated;
  }
  return updated;
}

GcResult collect_garbage(const PinDir& pins, const SharedObjects& objs) {
  GcResult result;
  pins.remove_stale_staging();
  std::set<std::uint64_t> owned;
  for (const EnforcedContainer& c : list_enforced(pins, objs)) {
    if (c.cgroup_alive) {
      owned.insert(c.cgroup_id);
    } else if (release(pins, objs, c.id)) {
      result.released.push_back(c.id);
    } else {
      remove_pin_dir(pins.container_dir(c.id));
    }
  }
  const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
  const ExceptionMap exceptions(objs.allow.get());
  std::set<std::uint64_t> orphans;
  for (std::uint64_t id : rules.policy_ids())
    if (!owned.count(id)) orphans.insert(id);
  for (std::uint64_t id : exceptions.policy_ids())
    if (!owned.count(id)) orphans.insert(id);
  for (std::uint64_t id : orphans) {
    rules.erase(id);
    exceptions.erase(id);
  }
  result.orphan_policies = orphans.size();
  return result;
}

}  // namespace ojh
