// SPDX-License-Identifier: Apache-2.0
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>

#include "hook/address_watch.hpp"
#include "hook/attach_client.hpp"
#include "hook/bpf_lsm.hpp"
#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/denial_reason.hpp"
#include "hook/enforcement.hpp"
#include "hook/pin_dir.hpp"
#include "hook/shared_objects.hpp"

namespace ojh {
namespace {

// How the sockets CAP_NET_RAW opens are kept from enforced containers on this host.
struct RawSockets {
  bool bpf_lsm = false;  // the BPF LSM is active (hook/bpf_lsm.hpp)
  bool by_lsm = false;   // the socket_create program is loaded (or will be at the first load)
  bool admin_accepts_net_raw = false;
  std::string why_not;

  const char* mode() const { return by_lsm ? "lsm" : "capability"; }
  const char* cap_net_raw() const {
    return by_lsm ? "accepted" : admin_accepts_net_raw ? "accepted-risk" : "refused";
  }
};

std::string rule_text(const Rule& r) {
  Rule copy = r;
  copy.origin = rule_kind_reason(r.kind);
  return format_rule(copy);
}

// Whether this kernel's objects judge AF_UNIX destinations, and why not; unset while
// nothing was ever loaded.
struct UnixStatus {
  bool enforced = false;
  std::string reason;  // empty when enforced
};

const char* unix_policy_name(const EnforcedContainer& c) {
  return c.policy.flags & OJH_POLICY_UNIX_DENY_ALL ? "deny-all" : "host-abstract";
}

void print_json(const std::vector<EnforcedContainer>& containers,
                std::optional<EgressVariant> egress, bool watched, const RawSockets& raw,
                const std::optional<UnixStatus>& unix_status) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("address_watch");
  w.Bool(watched);
  w.Key("egress");
  if (egress)
    w.String(egress_variant_name(*egress));
  else
    w.Null();
  w.Key("bpf_lsm");
  w.Bool(raw.bpf_lsm);
  w.Key("raw_sockets");
  w.String(raw.mode());
  w.Key("cap_net_raw");
  w.String(raw.cap_net_raw());
  w.Key("unix");
  if (unix_status) {
    w.StartObject();
    w.Key("enforced");
    w.Bool(unix_status->enforced);
    w.Key("reason");
    if (unix_status->enforced)
      w.Null();
    else
      w.String(unix_status->reason.c_str());
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("containers");
  w.StartArray();
  for (const EnforcedContainer& c : containers) {
    w.StartObject();
    w.Key("id");
    w.String(c.id.c_str());
    w.Key("bundle");
    if (c.bundle.empty())
      w.Null();
    else
      w.String(c.bundle.c_str());
    w.Key("owner_uid");
    w.Uint(c.owner_uid);
    w.Key("cgroup_id");
    w.Uint64(c.cgroup_id);
    w.Key("cgroup_alive");
    w.Bool(c.cgroup_alive);
    w.Key("mode");
    w.String(c.policy.flags & OJH_POLICY_AUDIT ? "audit" : "enforce");
    w.Key("judge_all_egress");
    w.Bool((c.policy.flags & OJH_POLICY_JUDGE_ALL_EGRESS) != 0);
    w.Key("unix_policy");
    w.String(unix_policy_name(c));
    w.Key("links");
    w.StartArray();
    for (const auto& l : c.links) w.String(l.c_str());
    w.EndArray();
    w.Key("rules");
    w.StartArray();
    for (const Rule& r : c.rules) w.String(rule_text(r).c_str());
    w.EndArray();
    w.Key("exceptions");
    w.StartArray();
    for (const Exception& e : c.exceptions) w.String(format_exception(e).c_str());
    w.EndArray();
    for (const auto& [label, counts] :
         {std::pair{"denied", c.counters.denied}, std::pair{"audited", c.counters.audited}}) {
      w.Key(label);
      w.StartObject();
      for (int k = 0; k < OJH_HOOK_MAX; ++k) {
        w.Key(kPrograms[k].name.data());
        w.Uint64(counts[k]);
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::printf("%s\n", buf.GetString());
}

void print_text(const std::vector<EnforcedContainer>& containers,
                std::optional<EgressVariant> egress, bool watched, const RawSockets& raw,
                const std::optional<UnixStatus>& unix_status) {
  if (!watched && !containers.empty())
    std::printf(
        "host addresses: not watched (`oci-jail-hook watch` is not running): an address added "
        "to the host since a container started may be reachable until `oci-jail-hook refresh`\n");
  if (egress == EgressVariant::Compat)
    std::printf(
        "egress backstop: compat (this kernel lacks bpf_get_netns_cookie in cgroup_skb: raw "
        "and ICMP packets to loopback addresses are refused in every network namespace)\n");
  else if (egress)
    std::printf("egress backstop: netns-aware\n");
  if (raw.by_lsm)
    std::printf(
        "raw sockets: refused by the BPF LSM (socket_create) in every enforced "
        "container; CAP_NET_RAW is accepted\n");
  else
    std::printf("raw sockets: not refusable (%s); CAP_NET_RAW is %s\n",
                raw.why_not.empty() ? "no socket_create program loaded" : raw.why_not.c_str(),
                raw.admin_accepts_net_raw
                    ? "accepted by the admin config (allow-capabilities): AF_PACKET frames get "
                      "past every cgroup program"
                    : "refused");
  if (unix_status && unix_status->enforced)
    std::printf("AF_UNIX: enforced (connect_unix, sendmsg_unix)\n");
  else if (unix_status)
    std::printf(
        "AF_UNIX: NOT enforced (%s): a container in the host's network namespace reaches the "
        "host's abstract sockets, and jail.block-host.unix=deny-all is refused\n",
        unix_status->reason.c_str());
  if (containers.empty()) std::printf("no container is enforced\n");
  for (const EnforcedContainer& c : containers) {
    std::printf("%s: %scgroup id %llu%s, mode %s%s, unix %s, %zu links, %zu rules\n", c.id.c_str(),
                c.owner_uid ? ("uid " + std::to_string(c.owner_uid) + ", ").c_str() : "",
                static_cast<unsigned long long>(c.cgroup_id),
                c.cgroup_alive
                    ? ""
                    : " (cgroup gone: poststop did not run; `oci-jail-hook gc` releases it)",
                c.policy.flags & OJH_POLICY_AUDIT ? "audit" : "enforce",
                c.policy.flags & OJH_POLICY_JUDGE_ALL_EGRESS
                    ? " (every egress packet judged: CAP_NET_ADMIN accepted by the admin config)"
                    : "",
                unix_policy_name(c), c.links.size(), c.rules.size());
    for (const auto& [label, counts] :
         {std::pair{"denied", c.counters.denied}, std::pair{"audited", c.counters.audited}}) {
      std::printf("  %s:", label);
      for (int k = 0; k < OJH_HOOK_MAX; ++k)
        std::printf(" %s=%llu", kPrograms[k].name.data(),
                    static_cast<unsigned long long>(counts[k]));
      std::printf("\n");
    }
    for (const Rule& r : c.rules) std::printf("  block %s\n", rule_text(r).c_str());
    for (const Exception& e : c.exceptions)
      std::printf("  allow %s\n", format_exception(e).c_str());
  }
}

}  // namespace

int run_status(const Options& opts, std::optional<uid_t> owner) {
  if (opts.rootless) {
    AttachRequest request{AttachCommand::Status, ""};
    request.json = opts.json;
    return run_through_attach_service(opts, request);
  }
  restrict_capabilities(CapabilitySet::kAttachMounted);
  std::vector<EnforcedContainer> containers;
  std::optional<EgressVariant> egress;
  std::optional<UnixStatus> unix_status;
  bool watched = false;
  RawSockets raw;
  raw.bpf_lsm = bpf_lsm().active;
  raw.by_lsm = raw.bpf_lsm;  // what the first load will do, until objects are loaded
  raw.why_not = bpf_lsm().reason;
  raw.admin_accepts_net_raw =
      std::find(opts.admin.allow_capabilities.begin(), opts.admin.allow_capabilities.end(),
                "CAP_NET_RAW") != opts.admin.allow_capabilities.end();
  if (const auto pins = PinDir::open_existing(opts.pin_dir)) {
    watched = address_watch_running(*pins);
    SharedObjects objs;
    if (SharedObjects::open_existing(*pins, objs)) {
      containers = list_enforced(*pins, objs);
      if (owner)
        std::erase_if(containers,
                      [&](const EnforcedContainer& c) { return c.owner_uid != *owner; });
      egress = objs.egress_variant();
      raw.by_lsm = objs.refuses_raw_sockets();
      if (!raw.by_lsm) raw.why_not = objs.why_not(KernelNeed::BpfLsm);
      unix_status = UnixStatus{objs.judges_unix(), objs.why_not(KernelNeed::UnixHooks)};
    }
  }
  restrict_capabilities(CapabilitySet::kNone);
  if (opts.json)
    print_json(containers, egress, watched, raw, unix_status);
  else
    print_text(containers, egress, watched, raw, unix_status);
  return 0;
}

}  // namespace ojh
