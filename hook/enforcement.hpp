// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hook/pin_dir.hpp"
#include "hook/rules.hpp"
#include "hook/shared_objects.hpp"
#include "oci/policy.hpp"

namespace ojh {

struct EnforceRequest {
  std::string container_id;  // validated: safe as a path component
  std::string cgroup_fs_path;
  std::vector<Rule> rules;
  std::vector<Exception> exceptions;  // allow annotation + DNS
  std::uint64_t host_netns_cookie = 0;
  bool audit = false;
};

struct EnforceResult {
  std::uint64_t cgroup_id = 0;
  bool already_enforced = false;  // a second run for the same container only rewrote policy
};

// Attaches the shared programs to the container's cgroup with bpf_links (multi-attach: a
// program inside the container cannot replace ours), writes its rules and policy, and pins
// the links. All or nothing: on any error every link, pin and rule of this attempt is gone.
// Call with the pin directory locked.
EnforceResult enforce(const PinDir& pins, const SharedObjects& objs, const EnforceRequest& req);

// Unpins (and so detaches) everything of the container and deletes its rules. Returns
// false when nothing was enforced for it. Call with the pin directory locked.
bool release(const PinDir& pins, const SharedObjects& objs, const std::string& container_id);

struct EnforcedContainer {
  std::string id;
  std::uint64_t cgroup_id = 0;
  std::vector<std::string> links;  // pin names
  bool cgroup_alive = false;
  ojh_policy policy{};
  ojh_counters counters{};  // summed over CPUs
  std::vector<Rule> rules;
  std::vector<Exception> exceptions;
};

std::vector<EnforcedContainer> list_enforced(const PinDir& pins, const SharedObjects& objs);

struct GcResult {
  std::vector<std::string> released;  // containers whose cgroup is gone
  std::size_t orphan_policies = 0;    // rule/exception sets no pinned container owns
};

// Cleans up after runtimes that skipped poststop (a crash, a killed conmon) and hooks that
// died mid-way: pins of containers whose cgroup no longer exists, staging directories,
// and rules or exceptions of policies that no pinned container records. Safe at any time:
// a live container is never touched. Call with the pin directory locked.
GcResult collect_garbage(const PinDir& pins, const SharedObjects& objs);

// Replaces the host-address rules of every live container whose policy was made in the
// network namespace `host_netns_cookie` with `host_rules`, without re-attaching anything.
// Returns the number of containers updated. Call with the pin directory locked.
std::size_t refresh_host_rules(const PinDir& pins, const SharedObjects& objs,
                               std::uint64_t host_netns_cookie,
                               const std::vector<Rule>& host_rules);

}  // namespace ojh
