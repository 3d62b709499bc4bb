// SPDX-License-Identifier: Apache-2.0
#include "hook/create_runtime.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>

#include "hook/attach_client.hpp"
#include "hook/bpf_lsm.hpp"
#include "hook/capabilities.hpp"
#include "hook/cgroup_namespace.hpp"
#include "hook/commands.hpp"
#include "hook/dns.hpp"
#include "hook/enforcement.hpp"
#include "hook/file.hpp"
#include "hook/host_network.hpp"
#include "hook/late_resolv_conf.hpp"
#include "hook/logging.hpp"
#include "hook/objects_upgrade.hpp"
#include "hook/phase_timer.hpp"
#include "hook/pin_dir.hpp"
#include "hook/process.hpp"
#include "hook/regular_file.hpp"
#include "hook/rules.hpp"
#include "hook/shared_objects.hpp"
#include "oci/admin_policy.hpp"
#include "oci/capability_policy.hpp"
#include "oci/cgroup.hpp"
#include "oci/config.hpp"
#include "oci/error.hpp"
#include "oci/policy.hpp"
#include "oci/state.hpp"

namespace ojh {

namespace {

// With annotation-exceptions = false port 53 stays open only to trusted resolvers; a
// nameserver the container's author chose is judged like any other destination, and the
// log says why its DNS may fail.
std::vector<Exception> admitted_dns(const AdminConfig& admin, const std::string& container_id,
                                    const std::vector<Exception>& wanted) {
  const DnsAdmission dns = admit_dns_exceptions(
      wanted, admin,
      admin.annotation_exceptions ? std::vector<AddressBytes>{}
                                  : read_host_nameservers(std::string(kHostResolvConfPath)));
  for (const AddressBytes& ns : dns.untrusted)
    log_info(container_id, "no DNS exception for nameserver " + format_address(ns) +
                               ": not a trusted resolver (admin config: annotation-exceptions = "
                               "false; see trusted-nameservers)");
  return dns.admitted;
}

// What one rootless user's containers may hold, so that one user cannot take the shared
// maps (and with them every other container's start) for themselves.
void check_user_limits(const AdminConfig& admin, const PinDir& pins, const SharedObjects& objs,
                       const EnforceRequest& request) {
  struct stat st {};
  if (::stat(request.cgroup_fs_path.c_str(), &st) != 0)
    throw Error("stat " + request.cgroup_fs_path, errno);
  const OwnerUsage usage =
      owner_usage(pins, objs, request.owner_uid, static_cast<std::uint64_t>(st.st_ino));
  const std::string who = "uid " + std::to_string(request.owner_uid);
  if (usage.containers + 1 > admin.user_max_containers)
    throw Refusal(who + " already has " + std::to_string(usage.containers) +
                  " enforced containers, the most the admin config allows "
                  "(user-max-containers = " +
                  std::to_string(admin.user_max_containers) + ")");
  const std::size_t wanted = request.rules.size() + request.exceptions.size();
  if (usage.map_entries + wanted > admin.user_max_map_entries)
    throw Refusal(who + "'s containers would hold " + std::to_string(usage.map_entries + wanted) +
                  " rules and exceptions, more than the admin config allows "
                  "(user-max-map-entries = " +
                  std::to_string(admin.user_max_map_entries) + ")");
}

// How long a bind-mounted resolv.conf that names no nameserver yet is followed.
constexpr int kLateResolvConfSeconds = 30;

// Where the AF_UNIX programs are not loaded (a kernel before 6.7), a container that asked
// for AF_UNIX protection, or a host whose admin requires it, is refused rather than run
// with less than it asked for; everyone else is enforced without it, as status says.
void check_unix_programs(const AdminConfig& admin, const SharedObjects& objs, bool deny_all) {
  if (objs.judges_unix() || (!admin.require_unix && !deny_all)) return;
  throw Refusal("AF_UNIX destinations cannot be judged: " + objs.why_not(KernelNeed::UnixHooks) +
                (deny_all ? std::string("; annotation ") + std::string(kBlockHostUnixAnnotation) +
                                "=deny-all asks for it"
                          : std::string("; the admin config says require-unix = true")));
}

// The step that touches the kernel; its failures are environment failures (no bpffs, a
// kernel without a feature, a vanished cgroup), the only kind fail-open may excuse.
void enforce_container(const Options& opts, const PinDir& pins, const ContainerToEnforce& container,
                       const BundleConfig& config, const ContainerPolicy& policy) {
  const State& state = container.state;

  // The hook runs in the runtime's network namespace: that is the host to protect.
  std::vector<Cidr> cidrs = policy.cidrs;
  cidrs.insert(cidrs.end(), opts.admin.block_cidrs.begin(), opts.admin.block_cidrs.end());
  EnforceRequest request;
  request.container_id = state.id;
  request.bundle = state.bundle;
  request.init_pid = container.init_pid;
  request.cgroup_fs_path = container.cgroup.fs_path;
  request.owner_uid = container.owner_uid;
  request.exceptions = policy.exceptions;
  request.exceptions.insert(request.exceptions.end(), opts.admin.allow.begin(),
                            opts.admin.allow.end());
  const std::optional<uid_t> file_owner = container.file_owner();
  const auto read_dns = [&config, &state, file_owner] {
    return dns_exceptions(config, state.bundle, file_owner);
  };
  const auto admit_dns = [&opts, &state](const std::vector<Exception>& wanted) {
    return admitted_dns(opts.admin, state.id, wanted);
  };
  bool resolv_conf_pending = false;
  if (policy.allow_dns) {
    const std::vector<Exception> found = read_dns();
    const std::vector<Exception> dns = admit_dns(found);
    request.exceptions.insert(request.exceptions.end(), dns.begin(), dns.end());
    // A bind-mounted resolv.conf with no nameserver yet: podman writes it later.
    resolv_conf_pending = found.empty() && config.resolv_conf_source.has_value();
  }
  request.host_netns_cookie = current_netns_cookie();
  request.audit = policy.mode == PolicyMode::Audit;
  request.unix_deny_all = policy.unix_sockets == UnixPolicy::DenyAll;
  // Only reached when the admin config accepts CAP_NET_ADMIN (check_capabilities).
  request.judge_all_egress = std::any_of(
      config.capabilities.begin(), config.capabilities.end(),
      [](const std::string& cap) { return canonical_capability(cap) == "CAP_NET_ADMIN"; });

  // The lock is released before a follower of resolv.conf is forked (it would inherit it).
  const EnforceResult result = [&] {
    const Fd lock = pins.lock_exclusive();
    pins.remove_stale_staging();
    phase("lock");
    // Under the lock: addresses read before it could be older than those a concurrent
    // refresh has just applied, and would overwrite them.
    request.rules =
        container_rules(without_interfaces(host_addresses(), opts.admin.ignore_interfaces), cidrs);
    phase("host");
    const SharedObjects objs = open_current_objects(pins);
    drop_perfmon();  // only the lsm_cgroup program's load needed it
    // The first capability check took the BPF LSM's word that raw sockets are refused; the
    // objects say whether they are (the kernel may have refused the program). A refusal, so
    // fail-open never excuses it.
    if (!objs.refuses_raw_sockets()) try {
        check_capabilities(config.capabilities, opts.admin.allow_capabilities,
                           {false, objs.why_not(KernelNeed::BpfLsm)});
      } catch (const Error& e) {
        throw Refusal(e.what());
      }
    phase("load");
    check_unix_programs(opts.admin, objs, request.unix_deny_all);
    if (request.owner_uid != 0) check_user_limits(opts.admin, pins, objs, request);
    return enforce(pins, objs, request);
  }();
  log_info(
      state.id,
      std::string(result.already_enforced ? "re-applied" : "enforcing") + " host block (" +
          (request.audit ? "audit" : "enforce") + " mode) on cgroup " + container.cgroup.path +
          (request.owner_uid ? " for uid " + std::to_string(request.owner_uid) : std::string()) +
          ": " + std::to_string(request.rules.size()) + " rules, " +
          std::to_string(request.exceptions.size()) + " exceptions");
  for (const Rule& r : request.rules) log_debug("  block " + format_rule(r));
  for (const Exception& e : request.exceptions) log_debug("  allow " + format_exception(e));
  if (resolv_conf_pending)
    follow_late_resolv_conf(pins, state.id, result.cgroup_id, read_dns, admit_dns,
                            kLateResolvConfSeconds);
}

// Runs a step that touches the kernel. Returns the cause of its failure when the admin
// config excuses it (fail-open); a Refusal (a limit, full maps, a cgroup another container
// holds) never is, and neither is anything without fail-open.
template <class Step>
std::optional<std::string> excused_failure(const Options& opts, Step&& step) {
  try {
    step();
    return std::nullopt;
  } catch (const Refusal&) {
    throw;
  } catch (const Error& e) {
    if (!opts.admin.fail_open) throw;
    return std::string(e.what());
  }
}

void log_fail_open(const std::string& container_id, const std::string& cause) {
  log_error(container_id, "FAIL-OPEN (admin config): the container runs UNPROTECTED: " + cause);
}

}  // namespace

std::optional<uid_t> ContainerToEnforce::file_owner() const {
  return owner_uid ? std::optional<uid_t>(owner_uid) : std::nullopt;
}

int create_runtime_for(const Options& opts, const ContainerToEnforce& container) {
  const std::string& id = container.state.id;
  // Mounting bpffs is the last thing that needs CAP_SYS_ADMIN. Only once it is dropped does
  // the hook parse what the container's author wrote: the policy annotations and config.json.
  std::optional<PinDir> pins;
  std::optional<std::string> failure =
      excused_failure(opts, [&] { pins.emplace(PinDir::open(opts.pin_dir)); });
  restrict_capabilities(CapabilitySet::kAttachMounted);
  phase("resolve");
  report_capabilities("parse");
  // Policy mistakes are the container author's and always fail, fail-open or not; so do
  // annotations the admin config does not permit.
  const ContainerPolicy policy = admitted_container_policy(container.state.annotations, opts.admin);
  if (!policy.enforce) throw Error("the policy does not enforce what the switch asked for");
  const BundleConfig config = read_bundle_config(container.state.bundle, container.file_owner());
  // What the container may do is part of its policy too: a capability that gets around
  // cgroup BPF is refused, fail-open or not. Where the BPF LSM is active its program refuses
  // the sockets CAP_NET_RAW opens, in every enforced container: that capability need not be
  // refused there.
  // Where objects are published already, they tell whether the kernel took that program.
  RawSocketGuard raw{bpf_lsm().active, bpf_lsm().reason};
  if (pins)
    if (const auto why_not = published_why_not(*pins, KernelNeed::BpfLsm);
        why_not && !why_not->empty())
      raw = {false, *why_not};
  check_capabilities(config.capabilities, opts.admin.allow_capabilities, raw);
  check_cgroup_mounts(config);
  phase("parse");
  if (!failure)
    failure =
        excused_failure(opts, [&] { enforce_container(opts, *pins, container, config, policy); });
  if (failure) log_fail_open(id, *failure);
  restrict_capabilities(CapabilitySet::kNone);
  report_capabilities("exit");
  return 0;
}

int run_create_runtime(const Options& opts, std::string& container_id) {
  report_capabilities("start");
  if (kernel_meets_any_optional_need()) keep_perfmon_for_optional_programs();
  restrict_capabilities(CapabilitySet::kAttach);
  report_capabilities("resolve");
  // The state is the runtime's (bounded, strict) and names the process whose cgroup is to
  // be resolved; of the author's annotations only the switch is read before that.
  const std::string state_text = read_state_text(STDIN_FILENO);
  const State state = parse_state(state_text);
  container_id = state.id;
  if (!enforcement_requested(state.annotations, opts.admin)) {
    log_info(container_id, "jail.block-host is not \"true\": nothing to enforce");
    return 0;
  }
  // Only root of the host can attach: a rootless runtime's hook asks the attach service,
  // which checks the container itself and applies the admin config it can trust.
  if (opts.rootless)
    return run_through_attach_service(opts, {AttachCommand::CreateRuntime, state_text}, state.pid);
  // Which cgroup is a security decision (never the root, never one the hook shares; the
  // root of the container's cgroup namespace when it has one), so a refusal here is not an
  // environment failure either. /proc/<pid> names whatever process has that pid now: the
  // pidfd, taken first, tells whether it is still the container's once it has been read.
  if (state.pid <= 0) throw Error("state has no container pid");
  const Fd pidfd = open_pidfd(state.pid);
  const CgroupTarget cgroup = container_cgroup(state.pid);
  if (pidfd_exited(pidfd.get()))
    throw Error("the container's process " + std::to_string(state.pid) +
                " exited while its cgroup was read");
  return create_runtime_for(opts, {state, state.pid, cgroup, 0});
}

}  // namespace ojh
