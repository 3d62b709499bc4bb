// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hook/pin_dir.hpp"
#include "hook/process.hpp"
#include "hook/rules.hpp"
#include "hook/shared_objects.hpp"
#include "oci/policy.hpp"

namespace ojh {

struct EnforceRequest {
  std::string container_id;  // validated: safe as a path component
  std::string bundle;        // the state's bundle, recorded to tell instances apart at poststop
  pid_t init_pid = 0;        // the state's pid, recorded with its start time; 0: none
  std::string cgroup_fs_path;
  std::vector<Rule> rules;
  std::vector<Exception> exceptions;  // allow annotation + DNS
  std::uint64_t host_netns_cookie = 0;
  bool audit = false;
  // Judge every packet at egress, TCP and UDP too, on its destination after NAT: for a
  // container that may hold CAP_NET_ADMIN, whose own NAT rules could rewrite a destination
  // that connect/sendmsg allowed into a host address.
  bool judge_all_egress = false;
  // jail.block-host.unix=deny-all: every named AF_UNIX destination is refused.
  bool unix_deny_all = false;
  uid_t owner_uid = 0;  // the user whose rootless container it is (the attach service); 0: root
};

struct EnforceResult {
  std::uint64_t cgroup_id = 0;
  bool already_enforced = false;  // a second run for the same container only rewrote policy
};

// Attaches the shared programs to the container's cgroup with bpf_links (multi-attach: a
// program inside the container cannot replace ours), writes its rules and policy, and pins
// the links in the cgroup's entry. All or nothing: on any error every link, pin and rule of
// this attempt is gone. Entries of other cgroups are never touched, whatever their
// container id: ids are unique only within one runtime's store. A cgroup already enforced
// for another container, or for another running instance of this id, is refused. Call
// with the pin directory locked.
EnforceResult enforce(const PinDir& pins, const SharedObjects& objs, const EnforceRequest& req);

// A container as a poststop state names it: it has stopped, and its cgroup is usually gone.
struct StoppedContainer {
  std::string id;
  std::string bundle;   // "" when the state has none
  pid_t pid = 0;        // 0 when the state has none (runc and podman give none at poststop)
  uid_t owner_uid = 0;  // whose poststop: only that user's entries can be released
};

struct ReleaseResult {
  std::size_t released = 0;  // entries of this container: unpinned, detached, rules deleted
  std::size_t kept = 0;      // entries with this id that belong to another instance
  explicit operator bool() const { return released > 0; }
};

// Unpins (and so detaches) the entries of that container and deletes their rules. An entry
// belongs to it when the id matches, the recorded bundle does not differ, and the recorded
// init is the state's pid or, without one, no longer runs: the init of a container that
// poststop is run for has exited, the init of another instance with the same id (another
// runtime, another store, a second create of this id that failed) still runs. Entries made
// by an earlier version record neither: they are released by id once their cgroup is gone.
// Entries of another owner are never released (nor counted as kept). Call with the pin
// directory locked.
ReleaseResult release(const PinDir& pins, const SharedObjects& objs,
                      const StoppedContainer& container);

struct EnforcedContainer {
  std::string id;
  std::string pins;     // the entry's directory
  std::string bundle;   // "" when not recorded (or made by an earlier version)
  ProcessRef init;      // pid 0 when not recorded
  uid_t owner_uid = 0;  // 0: root's
  std::uint64_t cgroup_id = 0;
  std::vector<std::string> links;  // pin names
  bool cgroup_alive = false;
  ojh_policy policy{};
  ojh_counters counters{};  // summed over CPUs
  std::vector<Rule> rules;
  std::vector<Exception> exceptions;
};

std::vector<EnforcedContainer> list_enforced(const PinDir& pins, const SharedObjects& objs);

// The container id each entry records, by its cgroup id: what naming a container's records
// needs, from the entries alone (list_enforced also reads every link and map). Entries
// without a cgroup id are left out; with `owner`, so are other users' entries.
std::map<std::uint64_t, std::string> enforced_container_ids(
    const PinDir& pins, std::optional<uid_t> owner = std::nullopt);

struct GcResult {
  std::vector<std::string> released;  // containers whose cgroup is gone
  std::size_t orphan_policies = 0;    // rule/exception sets no pinned container owns
};

// Cleans up after runtimes that skipped poststop (a crash, a killed conmon) and hooks that
// died mid-way: pins of containers whose cgroup no longer exists, staging directories,
// and rules or exceptions of policies that no pinned container records. Safe at any time:
// a live container is never touched. With `only_owner`, only that user's entries are
// looked at (a user's gc through the attach service), and orphaned rules are left to root's
// gc. Call with the pin directory locked.
GcResult collect_garbage(const PinDir& pins, const SharedObjects& objs,
                         std::optional<uid_t> only_owner = std::nullopt);

// Moves every container whose links are live from the programs of `from` to those of `to`
// (an upgrade that loaded another build's objects): new links with `to`'s programs and the
// container's policy in `to`'s storage, then the old links detached and the entry's pins
// replaced, records kept. While both run, both judge (and both refuse what the container's
// rules refuse), so there is no moment without a program. The rules and exceptions must be
// in `to`'s maps already. Returns how many were moved. Call with the pin directory locked.
std::size_t relink_entries(const PinDir& pins, const SharedObjects& from, const SharedObjects& to);

struct OwnerUsage {
  std::size_t containers = 0;
  std::size_t map_entries = 0;  // rules and exceptions
};

// What the live containers of `owner` hold in the shared maps, leaving out the cgroup
// `except_cgroup_id` (the one being re-applied). One walk of each map. Call with the pin
// directory locked.
OwnerUsage owner_usage(const PinDir& pins, const SharedObjects& objs, uid_t owner,
                       std::uint64_t except_cgroup_id);

// Replaces the host-address rules of every live container whose policy was made in the
// network namespace `host_netns_cookie` with `host_rules`, without re-attaching anything.
// Returns the number of containers updated. Call with the pin directory locked.
std::size_t refresh_host_rules(const PinDir& pins, const SharedObjects& objs,
                               std::uint64_t host_netns_cookie,
                               const std::vector<Rule>& host_rules);

}  // namespace ojh
