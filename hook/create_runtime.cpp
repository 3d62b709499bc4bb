// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>

#include "hook/capabilities.hpp"
#include "hook/cgroup_namespace.hpp"
#include "hook/commands.hpp"
#include "hook/dns.hpp"
#include "hook/enforcement.hpp"
#include "hook/host_network.hpp"
#include "hook/late_resolv_conf.hpp"
#include "hook/logging.hpp"
#include "hook/phase_timer.hpp"
#include "hook/pin_dir.hpp"
#include "hook/rules.hpp"
#include "hook/shared_objects.hpp"
#include "oci/admin_policy.hpp"
#include "oci/capability_policy.hpp"
#include "oci/cgroup.hpp"
#include "oci/config.hpp"
#include "oci/error.hpp"
#include "oci/file.hpp"
#include "oci/policy.hpp"
#include "oci/state.hpp"
#include "oci/user_namespace.hpp"

namespace ojh {

namespace {

void require_initial_user_namespace() {
  if (!is_initial_user_namespace(read_file_bounded("/proc/self/uid_map", 4096)))
    throw Error(
        "the hook runs inside a user namespace (rootless podman?): cgroup BPF programs can "
        "only be attached by root of the host; rootless containers are not supported yet "
        "(see docs/rootless.md)");
}

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

// How long a bind-mounted resolv.conf that names no nameserver yet is followed.
constexpr int kLateResolvConfSeconds = 30;

// Everything that touches the kernel. Failures here are environment failures (no bpffs,
// a kernel without a feature, a vanished cgroup), the only kind fail-open may excuse.
void enforce_container(const Options& opts, const State& state, const ContainerPolicy& policy,
                       const BundleConfig& config, const CgroupTarget& cgroup) {
  const PinDir pins = PinDir::open(opts.pin_dir);
  restrict_capabilities(CapabilitySet::kAttachMounted);
  report_capabilities("attach");
  phase("resolve");

  // The hook runs in the runtime's network namespace: that is the host to protect.
  std::vector<Cidr> cidrs = policy.cidrs;
  cidrs.insert(cidrs.end(), opts.admin.block_cidrs.begin(), opts.admin.block_cidrs.end());
  EnforceRequest request;
  request.container_id = state.id;
  request.bundle = state.bundle;
  request.init_pid = state.pid;
  request.cgroup_fs_path = cgroup.fs_path;
  request.exceptions = policy.exceptions;
  request.exceptions.insert(request.exceptions.end(), opts.admin.allow.begin(),
                            opts.admin.allow.end());
  const auto read_dns = [&config, &state] { return dns_exceptions(config, state.bundle); };
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
    const SharedObjects objs = SharedObjects::open_or_load(pins);
    phase("load");
    return enforce(pins, objs, request);
  }();
  log_info(state.id, std::string(result.already_enforced ? "re-applied" : "enforcing") +
                         " host block (" + (request.audit ? "audit" : "enforce") +
                         " mode) on cgroup " + cgroup.path + ": " +
                         std::to_string(request.rules.size()) + " rules, " +
                         std::to_string(request.exceptions.size()) + " exceptions");
  for (const Rule& r : request.rules) log_debug("  block " + format_rule(r));
  for (const Exception& e : request.exceptions) log_debug("  allow " + format_exception(e));
  if (resolv_conf_pending)
    follow_late_resolv_conf(pins, state.id, result.cgroup_id, read_dns, admit_dns,
                            kLateResolvConfSeconds);
}

}  // namespace

int run_create_runtime(const Options& opts, std::string& container_id) {
  report_capabilities("start");
  restrict_capabilities(CapabilitySet::kAttach);
  report_capabilities("parse");
  const State state = read_state(STDIN_FILENO);
  container_id = state.id;
  // Policy mistakes are the container author's and always fail, fail-open or not; so do
  // annotations the admin config does not permit.
  const ContainerPolicy policy = admitted_container_policy(state.annotations, opts.admin);
  phase("parse");
  if (!policy.enforce) {
    log_info(container_id, "jail.block-host is not \"true\": nothing to enforce");
    return 0;
  }
  require_initial_user_namespace();
  // Which cgroup is a security decision (never the root, never one the hook shares; the
  // root of the container's cgroup namespace when it has one), so a refusal here is not an
  // environment failure either.
  const CgroupTarget cgroup = container_cgroup(state.pid);
  // What the container may do is part of its policy too: a capability that gets around
  // cgroup BPF is refused, fail-open or not.
  const BundleConfig config = read_bundle_config(state.bundle);
  check_capabilities(config.capabilities, opts.admin.allow_capabilities);
  check_cgroup_mounts(config);
  try {
    enforce_container(opts, state, policy, config, cgroup);
  } catch (const Error& e) {
    if (!opts.admin.fail_open) throw;
    log_error(container_id, std::string("FAIL-OPEN (admin config): the container runs "
                                        "UNPROTECTED: ") +
                                e.what());
  }
  restrict_capabilities(CapabilitySet::kNone);
  report_capabilities("exit");
  return 0;
}

}  // namespace ojh
