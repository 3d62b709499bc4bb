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
#include <map>
#include <set>
#include <utility>

#include "hook/cgroup_tree.hpp"
#include "hook/event_records.hpp"
#include "hook/exception_map.hpp"
#include "hook/file.hpp"
#include "hook/id_index.hpp"
#include "hook/key_record.hpp"
#include "hook/phase_timer.hpp"
#include "hook/rule_maps.hpp"
#include "oci/cgroup.hpp"
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

// The last component of a path: an entry's name in the containers directory.
std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

constexpr std::string_view kCgroupRecord = "cgroup-";
constexpr const char* kIdRecord = "id";
constexpr const char* kBundleRecord = "bundle";
constexpr const char* kInitRecord = "init";
constexpr const char* kOwnerRecord = "owner";

// The cgroup id a container's pins were made for. It is recorded in the name of an empty
// directory beside the link pins because a link forgets its cgroup once the cgroup is
// removed, and runtimes remove the cgroup before they run poststop. Entries of this
// version carry it in their name as well; the directory stays because earlier versions'
// gc reads it (without it they would take the entry's rules for orphans).
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

// One entry of containers/, as its name and records describe it.
struct Entry {
  std::string dir;
  std::string id;
  std::uint64_t cgroup_id = 0;
  std::string bundle;
  ProcessRef init;
  uid_t owner_uid = 0;  // no record: root's
  bool legacy = false;  // made by an earlier version: named by container id, no records
};

// An owner record that does not parse would make the entry nobody's, so it is root's.
uid_t parse_owner(const std::optional<std::string>& record) {
  if (!record) return 0;
  try {
    std::size_t end = 0;
    const unsigned long uid = std::stoul(*record, &end);
    return end == record->size() && uid < 0xffffffffUL ? static_cast<uid_t>(uid) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

Entry read_entry(const PinDir& pins, const std::string& name) {
  Entry e;
  e.dir = pins.containers_dir() + "/" + name;
  if (const auto cgroup = entry_cgroup_id(name)) {
    e.cgroup_id = *cgroup;
    e.id = read_record(e.dir, kIdRecord).value_or("");
    e.bundle = read_record(e.dir, kBundleRecord).value_or("");
    if (const auto init = read_record(e.dir, kInitRecord))
      e.init = parse_process_ref(*init).value_or(ProcessRef{});
    e.owner_uid = parse_owner(read_record(e.dir, kOwnerRecord));
  } else {
    e.legacy = true;
    e.id = container_id_from_pin_name(name);
    e.cgroup_id = recorded_cgroup_id(e.dir);
  }
  return e;
}

// The entries that may hold `cgroup_id`: its own, and one an earlier version named after
// the container (an earlier version's entry of another id on this cgroup is found by its
// programs being attached). Looked up by name: a create-runtime does not read every other
// container's records (O(1), not O(containers)).
std::vector<Entry> entries_of_cgroup(const PinDir& pins, std::uint64_t cgroup_id,
                                     const std::string& container_id) {
  std::vector<Entry> entries;
  const std::string dir = pins.containers_dir();
  for (const std::string& name :
       {std::string(kEntryPrefix) + std::to_string(cgroup_id), pin_name(container_id)}) {
    struct stat st {};
    if (::lstat((dir + "/" + name).c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      throw Error("stat " + dir + "/" + name, errno);
    }
    Entry e = read_entry(pins, name);
    if (e.cgroup_id == cgroup_id) entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<Entry> read_entries(const PinDir& pins) {
  std::vector<Entry> entries;
  for (const std::string& name : list_dir(pins.containers_dir()))
    entries.push_back(read_entry(pins, name));
  return entries;
}

// Takes an entry down: its links off the cgroup, its pins, its rules and exceptions, its
// name in the id's index.
void release_entry(const PinDir& pins, const SharedObjects& objs, const std::string& dir,
                   std::uint64_t cgroup_id, const std::string& container_id) {
  // Unpinning alone frees the link from a kernel work item, a moment later; an explicit
  // detach takes the programs off the cgroup before the hook returns.
  for (const ProgramSpec& p : kPrograms) {
    Fd link(bpf_obj_get((dir + "/" + std::string(p.name)).c_str()));
    if (link && bpf_link_detach(link.get()) != 0 && errno != ENOLINK)
      throw Error("detach " + std::string(p.name) + " link of container " + container_id, errno);
  }
  // The entry records its keys (O(own keys) to delete); one of an earlier version does not,
  // and only a walk of the shared maps finds those.
  const std::optional<OwnKeys> own = read_own_keys(dir);
  remove_pin_dir(dir);
  if (entry_cgroup_id(base_name(dir))) unindex_entry(pins, container_id, base_name(dir));
  if (cgroup_id) {
    const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
    const ExceptionMap exceptions(objs.allow.get());
    if (own) {
      rules.erase_each(cgroup_id, own->rules);
      exceptions.erase_each(cgroup_id, own->exceptions);
    } else {
      rules.erase(cgroup_id);
      exceptions.erase(cgroup_id);
    }
    erase_event_records(objs, cgroup_id);
  }
}

// An entry of an earlier version says nothing about its instance; its cgroup being gone
// does. Runtimes remove the cgroup before poststop and the kernel detaches its links from
// a work item a moment later, so this waits up to a second for that.
bool legacy_cgroup_gone(const std::string& dir) {
  for (int i = 0; i < 100; ++i) {
    if (live_link_cgroup_id(dir) == 0) return true;
    ::usleep(10 * 1000);
  }
  return false;
}

bool belongs_to(const Entry& e, const StoppedContainer& c) {
  if (e.id != c.id || e.owner_uid != c.owner_uid) return false;
  if (!e.bundle.empty() && !c.bundle.empty() && e.bundle != c.bundle) return false;
  if (e.legacy) return legacy_cgroup_gone(e.dir);
  if (e.init.pid == 0) return true;
  if (c.pid > 0) return e.init.pid == c.pid;
  return !still_running(e.init);
}

void write_policy(const SharedObjects& objs, std::uint64_t cgroup_id, const EnforceRequest& req) {
  ojh_policy policy{};
  policy.policy_id = cgroup_id;
  policy.host_netns_cookie = req.host_netns_cookie;
  policy.flags = (req.audit ? OJH_POLICY_AUDIT : 0) |
                 (req.judge_all_egress ? OJH_POLICY_JUDGE_ALL_EGRESS : 0) |
                 (req.unix_deny_all ? OJH_POLICY_UNIX_DENY_ALL : 0);
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

// A link for every program the shared objects hold (those whose kernel need was met).
bool complete_pin_set(const SharedObjects& objs, const std::string& dir) {
  const auto names = list_dir(dir);
  for (const ProgramSpec& p : kPrograms) {
    if (!objs.loaded(&p - kPrograms.data())) continue;
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
  ProcessRef init;
  if (req.init_pid > 0) {
    const auto running = running_process(req.init_pid);
    if (!running)
      throw Error("the container's process " + std::to_string(req.init_pid) + " has exited");
    init = *running;
  }

  // Only an entry of this very cgroup is ours to reuse or clear; another cgroup's entry
  // with this container id belongs to another runtime's or store's container.
  for (const Entry& e : entries_of_cgroup(pins, cgroup.id, req.container_id)) {
    if (!complete_pin_set(objs, e.dir) || live_link_cgroup_id(e.dir) != cgroup.id) {
      // Half made by a killed hook, or its links detached: nothing enforces this cgroup
      // through it, and its rules are keyed by this cgroup's id.
      release_entry(pins, objs, e.dir, cgroup.id, e.id);
      continue;
    }
    if (e.id != req.container_id || e.owner_uid != req.owner_uid)
      throw Refusal("cgroup " + req.cgroup_fs_path +
                    " is already enforced for another container (" + e.id +
                    "); refusing to share it");
    if (e.init.pid != 0 && init.pid != 0 && e.init != init && still_running(e.init))
      throw Refusal("cgroup " + req.cgroup_fs_path +
                    " is already enforced for another container with this id (its process " +
                    std::to_string(e.init.pid) + " still runs); refusing to share it");
    // A complete set of live links on this cgroup for this container means a previous run
    // succeeded: bring its rules and policy up to date rather than attach twice. Insert
    // before delete, so a rule that stays never blinks.
    try {
      // What the entry records is what the maps hold for it (a walk for an entry that
      // records nothing); the new keys are recorded before the maps change.
      const std::optional<OwnKeys> own = read_own_keys(e.dir);
      const std::vector<Rule> current_rules = own ? own->rules : rules.list(cgroup.id);
      const std::vector<Exception> current_exceptions =
          own ? own->exceptions : exceptions.list(cgroup.id);
      const auto change = [&] {
        rules.apply(cgroup.id, replace_rules(current_rules, req.rules));
        exceptions.replace(cgroup.id, current_exceptions, req.exceptions);
      };
      if (e.legacy)
        change();
      else
        record_own_keys(e.dir, {req.rules, req.exceptions}, change);
      write_policy(objs, cgroup.id, req);
      // An entry made by an earlier version is in no index yet.
      if (!e.legacy) index_entry(pins, e.id, base_name(e.dir));
      if (!e.legacy && e.bundle != req.bundle) {
        if (req.bundle.empty()) {
          if (::unlink((e.dir + "/" + kBundleRecord).c_str()) != 0 && errno != ENOENT)
            throw Error("remove record " + e.dir + "/" + kBundleRecord, errno);
        } else {
          write_record(e.dir, kBundleRecord, req.bundle);
        }
      }
      if (!e.legacy && init.pid != 0 && e.init != init)
        write_record(e.dir, kInitRecord, format_process_ref(init));
    } catch (...) {
      // Half the rules would be a silent gap: take everything down, the runtime then
      // refuses to start the container. Best effort: the first error is the one to report.
      try {
        release_entry(pins, objs, e.dir, cgroup.id, e.id);
      } catch (const Error&) {
      }
      throw;
    }
    return {cgroup.id, true};
  }

  // Our programs on this cgroup now mean another container holds it without an entry of
  // ours to say so (links pinned elsewhere); the two would share one policy. Links whose
  // last fd died with a killed hook are released by a kernel work item: give them a moment.
  bool attached = shared_program_attached(objs, cgroup.fd.get());
  for (int i = 0; attached && i < 20; ++i) {
    ::usleep(10 * 1000);
    attached = shared_program_attached(objs, cgroup.fd.get());
  }
  if (attached)
    throw Refusal("cgroup " + req.cgroup_fs_path +
                  " is already enforced for another container; refusing to share it");

  const std::string final_dir = pins.entry_dir(cgroup.id);
  const std::string staging = pins.staging_dir("container-" + req.container_id);
  std::vector<std::pair<std::string_view, Fd>> links;  // pin name, link
  try {
    // Cgroup ids are never reused, so a new cgroup has no entries to clear first: the
    // container's rules and exceptions are written (and on failure deleted) key by key, in
    // O(its own rules), never with a walk over every container's.
    rules.insert(cgroup.id, req.rules);
    exceptions.insert(cgroup.id, req.exceptions);
    phase("populate");
    for (const ProgramSpec& p : kPrograms) {
      // A program whose kernel need is not met was not loaded; one that was loaded must
      // attach (the LSM program refuses the sockets CAP_NET_RAW would give: never skip it).
      if (!objs.loaded(&p - kPrograms.data())) continue;
      const int prog = objs.programs[&p - kPrograms.data()].get();
      Fd link(bpf_link_create(prog, cgroup.fd.get(), p.attach_type, nullptr));
      if (!link) throw Error("attach " + std::string(p.name) + " to " + req.cgroup_fs_path, errno);
      links.emplace_back(p.name, std::move(link));
      // The policy storage exists once the first link does; until it is written the
      // programs deny everything (policy_id == 0), so there is no open window.
      if (links.size() == 1) write_policy(objs, cgroup.id, req);
    }
    phase("attach");
    remove_pin_dir(staging);
    make_private_dir(staging);
    for (const auto& [name, link] : links) {
      const std::string path = staging + "/" + std::string(name);
      if (bpf_obj_pin(link.get(), path.c_str()) != 0) throw Error("pin " + path, errno);
    }
    make_private_dir(staging + "/" + std::string(kCgroupRecord) + std::to_string(cgroup.id));
    record_own_keys(staging, {req.rules, req.exceptions}, [] {});
    write_record(staging, kIdRecord, req.container_id);
    if (!req.bundle.empty()) write_record(staging, kBundleRecord, req.bundle);
    if (init.pid != 0) write_record(staging, kInitRecord, format_process_ref(init));
    if (req.owner_uid != 0) write_record(staging, kOwnerRecord, std::to_string(req.owner_uid));
    index_entry(pins, req.container_id, base_name(final_dir));
    if (::rename(staging.c_str(), final_dir.c_str()) != 0)
      throw Error("publish " + final_dir, errno);
    phase("pin");
  } catch (...) {
    // Closing the fds detaches the links; unpinning drops the last other reference.
    remove_pin_dir(staging);
    links.clear();
    try {
      unindex_entry(pins, req.container_id, base_name(final_dir));
    } catch (const Error&) {
    }
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

ReleaseResult release(const PinDir& pins, const SharedObjects& objs,
                      const StoppedContainer& container) {
  ReleaseResult result;
  const std::string dir = pins.containers_dir();
  // The id's index names its entries (and an earlier version's entry is named after the id);
  // without an index every entry is listed and one record of each read.
  std::vector<std::string> names;
  if (auto indexed = indexed_entries(pins, container.id)) {
    indexed->push_back(pin_name(container.id));
    // A name whose entry is gone (a hook killed between removing both) is skipped.
    for (std::string& name : *indexed) {
      struct stat st {};
      if (::lstat((dir + "/" + name).c_str(), &st) == 0)
        names.push_back(std::move(name));
      else if (errno != ENOENT)
        throw Error("stat " + dir + "/" + name, errno);
    }
  } else {
    names = list_dir(dir);
  }
  for (const std::string& name : names) {
    if (entry_cgroup_id(name) && read_record(dir + "/" + name, kIdRecord) != container.id) continue;
    const Entry e = read_entry(pins, name);
    if (e.id != container.id || e.owner_uid != container.owner_uid) continue;
    if (belongs_to(e, container)) {
      release_entry(pins, objs, e.dir, e.cgroup_id, e.id);
      ++result.released;
    } else {
      ++result.kept;
    }
  }
  return result;
}

std::vector<EnforcedContainer> list_enforced(const PinDir& pins, const SharedObjects& objs) {
  std::vector<EnforcedContainer> out;
  // One walk of each map for all containers, not one per container.
  auto rules = RuleMaps(objs.rules4.get(), objs.rules6.get()).list_all();
  auto exceptions = ExceptionMap(objs.allow.get()).list_all();
  const int ncpus = libbpf_num_possible_cpus();
  for (const Entry& e : read_entries(pins)) {
    EnforcedContainer c;
    c.id = e.id;
    c.pins = e.dir;
    c.bundle = e.bundle;
    c.init = e.init;
    c.owner_uid = e.owner_uid;
    c.cgroup_id = e.cgroup_id;
    // Link pins are bpffs files; records are symlinks and directories.
    for (const std::string& name : list_dir(e.dir)) {
      struct stat st {};
      if (::lstat((e.dir + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode))
        c.links.push_back(name);
    }
    c.cgroup_alive = c.cgroup_id != 0 && live_link_cgroup_id(e.dir) == c.cgroup_id;
    if (c.cgroup_id) {
      if (const auto it = rules.find(c.cgroup_id); it != rules.end())
        c.rules = std::move(it->second);
      if (const auto it = exceptions.find(c.cgroup_id); it != exceptions.end())
        c.exceptions = std::move(it->second);
    }
    // The policy storage lives as long as the cgroup: gone in between means the cgroup is.
    if (c.cgroup_alive && bpf_map_lookup_elem(objs.policy.get(), &c.cgroup_id, &c.policy) != 0) {
      if (errno != ENOENT)
        throw Error("read the policy of cgroup " + std::to_string(c.cgroup_id), errno);
      c.cgroup_alive = false;
    }
    if (c.cgroup_alive) {
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

std::map<std::uint64_t, std::string> enforced_container_ids(const PinDir& pins,
                                                            std::optional<uid_t> owner) {
  std::map<std::uint64_t, std::string> ids;
  for (const Entry& e : read_entries(pins))
    if (e.cgroup_id != 0 && (!owner || e.owner_uid == *owner)) ids[e.cgroup_id] = e.id;
  return ids;
}

std::size_t refresh_host_rules(const PinDir& pins, const SharedObjects& objs,
                               std::uint64_t host_netns_cookie,
                               const std::vector<Rule>& host_rules) {
  const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
  std::size_t updated = 0;
  for (const EnforcedContainer& c : list_enforced(pins, objs)) {
    if (!c.cgroup_alive || c.policy.host_netns_cookie != host_netns_cookie) continue;
    const RuleUpdate update = replace_host_rules(c.rules, host_rules);
    // The entry's keys after the update, recorded before the maps change (poststop deletes
    // what the entry records, without walking the maps).
    OwnKeys after{update.insert, c.exceptions};
    for (const Rule& r : c.rules) {
      const auto same = [&](const Rule& o) { return same_key(o, r); };
      if (std::none_of(update.erase.begin(), update.erase.end(), same) &&
          std::none_of(update.insert.begin(), update.insert.end(), same))
        after.rules.push_back(r);
    }
    record_own_keys(c.pins, after, [&] { rules.apply(c.cgroup_id, update); });
    ++updated;
  }
  return updated;
}

GcResult collect_garbage(const PinDir& pins, const SharedObjects& objs,
                         std::optional<uid_t> only_owner) {
  GcResult result;
  pins.remove_stale_staging();
  std::set<std::uint64_t> owned;
  for (const EnforcedContainer& c : list_enforced(pins, objs)) {
    if (only_owner && c.owner_uid != *only_owner) continue;
    if (c.cgroup_alive) {
      owned.insert(c.cgroup_id);
      continue;
    }
    const bool held_something = !list_dir(c.pins).empty();
    release_entry(pins, objs, c.pins, c.cgroup_id, c.id);
    if (held_something) result.released.push_back(c.id);
  }
  // After the releases: an entry a killed poststop left without its id record is released
  // above without knowing its id, so only its name going away drops it from the index.
  prune_id_index(pins);
  // Another user's containers are not in `owned`: their rules are not this user's to judge.
  if (only_owner) return result;
  const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
  const ExceptionMap exceptions(objs.allow.get());
  std::set<std::uint64_t> orphans;
  for (const auto& [id, count] : rules.entry_counts())
    if (!owned.count(id)) orphans.insert(id);
  for (const auto& [id, count] : exceptions.entry_counts())
    if (!owned.count(id)) orphans.insert(id);
  // Denial records of a container nobody enforces any more (a program that ran while its
  // container was released), found through the state hash: O(denied containers).
  for (const auto& [id, state] : all_event_states(objs))
    if (!owned.count(id)) orphans.insert(id);
  for (std::uint64_t id : orphans) {
    rules.erase(id);
    exceptions.erase(id);
    erase_event_records(objs, id);
  }
  result.orphan_policies = orphans.size();
  return result;
}

OwnerUsage owner_usage(const PinDir& pins, const SharedObjects& objs, uid_t owner,
                       std::uint64_t except_cgroup_id) {
  OwnerUsage usage;
  std::set<std::uint64_t> cgroups;
  // Keys are counted from the entries' records: a container start never walks every
  // container's keys. Only entries that record none (made by an earlier version) are
  // counted by walking the maps.
  std::set<std::uint64_t> unrecorded;
  for (const Entry& e : read_entries(pins)) {
    if (e.owner_uid != owner || e.cgroup_id == except_cgroup_id || e.cgroup_id == 0 ||
        !cgroups.insert(e.cgroup_id).second)
      continue;
    if (const std::optional<OwnKeys> own = read_own_keys(e.dir))
      usage.map_entries += own->rules.size() + own->exceptions.size();
    else
      unrecorded.insert(e.cgroup_id);
  }
  usage.containers = cgroups.size();
  if (unrecorded.empty()) return usage;
  for (const auto& counts : {RuleMaps(objs.rules4.get(), objs.rules6.get()).entry_counts(),
                             ExceptionMap(objs.allow.get()).entry_counts()})
    for (const auto& [id, count] : counts)
      if (unrecorded.count(id)) usage.map_entries += count;
  return usage;
}

namespace {

void relink_entry(const PinDir& pins, const Entry& e, const std::string& cgroup_dir,
                  const SharedObjects& from, const SharedObjects& to) {
  OpenCgroup cgroup = open_cgroup(cgroup_dir);
  ojh_policy policy{};
  if (bpf_map_lookup_elem(from.policy.get(), &e.cgroup_id, &policy) != 0)
    throw Error("read the policy of cgroup " + std::to_string(e.cgroup_id), errno);
  const std::string staging = pins.staging_dir("relink-" + std::to_string(e.cgroup_id));
  remove_pin_dir(staging);
  make_private_dir(staging);
  try {
    std::vector<Fd> links;
    for (const ProgramSpec& p : kPrograms) {
      if (!to.loaded(&p - kPrograms.data())) continue;  // its kernel need is not met
      Fd link(bpf_link_create(to.programs[&p - kPrograms.data()].get(), cgroup.fd.get(),
                              p.attach_type, nullptr));
      if (!link) throw Error("attach " + std::string(p.name) + " to " + cgroup_dir, errno);
      // Until the policy is written the new programs refuse everything: never open.
      if (links.empty() &&
          bpf_map_update_elem(to.policy.get(), &e.cgroup_id, &policy, BPF_ANY) != 0)
        throw Error("write container policy", errno);
      if (bpf_obj_pin(link.get(), (staging + "/" + std::string(p.name)).c_str()) != 0)
        throw Error("pin " + staging + "/" + std::string(p.name), errno);
      links.push_back(std::move(link));
    }
    for (const std::string& name : list_dir(e.dir)) {
      struct stat st {};
      const std::string path = e.dir + "/" + name;
      if (::lstat(path.c_str(), &st) != 0) throw Error("stat " + path, errno);
      if (S_ISDIR(st.st_mode)) make_private_dir(staging + "/" + name);
      if (S_ISLNK(st.st_mode)) write_record(staging, name, read_record(e.dir, name).value_or(""));
    }
    // The old links go only now: both programs judged in between.
    for (const ProgramSpec& p : kPrograms) {
      Fd old(bpf_obj_get((e.dir + "/" + std::string(p.name)).c_str()));
      if (old && bpf_link_detach(old.get()) != 0 && errno != ENOLINK)
        throw Error("detach the old " + std::string(p.name) + " link of " + cgroup_dir, errno);
    }
    remove_pin_dir(e.dir);
    if (::rename(staging.c_str(), e.dir.c_str()) != 0) throw Error("publish " + e.dir, errno);
  } catch (...) {
    remove_pin_dir(staging);
    throw;
  }
}

}  // namespace

std::size_t relink_entries(const PinDir& pins, const SharedObjects& from, const SharedObjects& to) {
  const auto mount =
      find_cgroup2_mount(read_file_bounded("/proc/self/mountinfo", kMaxMountinfoBytes));
  if (!mount) throw Error("no cgroup2 mount to find the enforced cgroups in");
  // A link reports only the cgroup id, and an entry of an earlier version records nothing
  // else: one walk of the tree finds the directories of all of them.
  std::vector<Entry> live;
  std::map<std::uint64_t, std::string> dirs;
  for (Entry& e : read_entries(pins))
    if (e.cgroup_id != 0 && live_link_cgroup_id(e.dir) == e.cgroup_id) {  // else gc's
      dirs.emplace(e.cgroup_id, std::string());
      live.push_back(std::move(e));
    }
  std::size_t found = 0;
  if (!live.empty())
    find_in_cgroup_tree(mount->mount_point, 100000, [&](const std::string& dir) {
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0) return false;
      const auto it = dirs.find(static_cast<std::uint64_t>(st.st_ino));
      if (it != dirs.end() && it->second.empty()) {
        it->second = dir;
        ++found;
      }
      return found == dirs.size();
    });
  std::size_t moved = 0;
  for (const Entry& e : live) {
    const std::string& dir = dirs.at(e.cgroup_id);
    if (dir.empty())
      throw Error("container " + e.id + ": cgroup " + std::to_string(e.cgroup_id) +
                  " is enforced but not found under " + mount->mount_point);
    relink_entry(pins, e, dir, from, to);
    ++moved;
  }
  return moved;
}

}  // namespace ojh
