// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <linux/bpf.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "bpf/block_host_abi.h"
#include "hook/fd.hpp"
#include "hook/pin_dir.hpp"

namespace ojh {

struct ProgramSpec {
  std::string_view name;  // pin name and bpftool-visible suffix
  bpf_attach_type attach_type;
  // Empty: every kernel the hook supports loads it. Otherwise the kernel feature it needs,
  // as status names it: the program is loaded only where the kernel has the feature, and
  // the rest is enforced without it (SharedObjects::programs[i] then stays empty).
  std::string_view feature = {};
};

// The cgroup AF_UNIX attach types of Linux 6.7 (<linux/bpf.h>). Defined here because the
// build's headers may predate them (Debian 12 ships those of 6.1); where the header has
// them, it must agree.
inline constexpr auto kCgroupUnixConnect = static_cast<bpf_attach_type>(49);
inline constexpr auto kCgroupUnixSendmsg = static_cast<bpf_attach_type>(50);
template <typename E>
constexpr bool uapi_agrees_on_unix_attach_types() {
  if constexpr (requires {
                  E::BPF_CGROUP_UNIX_CONNECT;
                  E::BPF_CGROUP_UNIX_SENDMSG;
                })
    return E::BPF_CGROUP_UNIX_CONNECT == kCgroupUnixConnect &&
           E::BPF_CGROUP_UNIX_SENDMSG == kCgroupUnixSendmsg;
  return true;
}
static_assert(uapi_agrees_on_unix_attach_types<bpf_attach_type>(),
              "<linux/bpf.h> numbers the cgroup AF_UNIX attach types differently");

// The feature of the AF_UNIX programs: "unix" in status.
inline constexpr std::string_view kUnixFeature = "unix";

// Indexed by enum ojh_hook_kind: the name is also the program's counter name in status.
inline constexpr std::array<ProgramSpec, OJH_HOOK_MAX> kPrograms = {{
    {"connect4", BPF_CGROUP_INET4_CONNECT},
    {"connect6", BPF_CGROUP_INET6_CONNECT},
    {"sendmsg4", BPF_CGROUP_UDP4_SENDMSG},
    {"sendmsg6", BPF_CGROUP_UDP6_SENDMSG},
    {"egress", BPF_CGROUP_INET_EGRESS},
    // AF_UNIX (issue 13): optional, Linux 6.7+.
    {"connect_unix", kCgroupUnixConnect, kUnixFeature},
    {"sendmsg_unix", kCgroupUnixSendmsg, kUnixFeature},
}};
static_assert(kPrograms[OJH_HOOK_CONNECT4].attach_type == BPF_CGROUP_INET4_CONNECT &&
                  kPrograms[OJH_HOOK_CONNECT6].attach_type == BPF_CGROUP_INET6_CONNECT &&
                  kPrograms[OJH_HOOK_SENDMSG4].attach_type == BPF_CGROUP_UDP4_SENDMSG &&
                  kPrograms[OJH_HOOK_SENDMSG6].attach_type == BPF_CGROUP_UDP6_SENDMSG &&
                  kPrograms[OJH_HOOK_EGRESS].attach_type == BPF_CGROUP_INET_EGRESS &&
                  kPrograms[OJH_HOOK_CONNECT_UNIX].attach_type == kCgroupUnixConnect &&
                  kPrograms[OJH_HOOK_SENDMSG_UNIX].attach_type == kCgroupUnixSendmsg,
              "kPrograms follows enum ojh_hook_kind");

// The programs and maps every container shares. They are verified and loaded once, pinned
// in <pin-dir>/v1/objects, and opened from there by every later hook: per container the
// kernel then only holds links, a policy entry and rules (docs/design.md).
// Which egress program is loaded: the one that tells a container's own loopback from the
// host's needs bpf_get_netns_cookie() in cgroup_skb programs (Linux 6.15+).
enum class EgressVariant { Auto, NetnsAware, Compat };

// The identity of this binary's BPF object: a hash of its ELF bytes. Pinned objects of
// another build run other code or other map layouts, whatever the ABI version says; each
// publication records its build ("build" in <pin-dir>/v1/objects).
std::string objects_build();
// The build recorded with the published objects: nullopt when none are published, "" when
// they carry no record (published by an earlier version).
std::optional<std::string> pinned_objects_build(const PinDir& pins);

// "netns-aware" or "compat", as status prints it.
const char* egress_variant_name(EgressVariant v);

struct SharedObjects {
  std::array<Fd, kPrograms.size()> programs;
  Fd rules4;
  Fd rules6;
  Fd allow;
  Fd policy;
  Fd counters;

  // Call with the pin directory locked.
  static SharedObjects open_or_load(const PinDir& pins, EgressVariant egress = EgressVariant::Auto);
  // Opens existing pins only (status, poststop): nothing is loaded when nothing is there.
  static bool open_existing(const PinDir& pins, SharedObjects& out);
  // This build's objects, loaded and pinned into a staging directory of the pin directory
  // (set in `staging`) and opened from there; publish_staged then puts them in the place of
  // the published ones (an upgrade, hook/objects_upgrade.cpp).
  static SharedObjects load_staged(const PinDir& pins, EgressVariant egress, std::string& staging);
  static void publish_staged(const PinDir& pins, const std::string& staging);

  // Which egress program was loaded (NetnsAware or Compat), read from the kernel.
  EgressVariant egress_variant() const;
  // Whether every program that needs `feature` is loaded (and so attached to containers).
  bool has_feature(std::string_view feature) const;
  bool loaded(std::size_t program) const { return static_cast<bool>(programs[program]); }
};

// Whether this kernel has `feature` (kPrograms' `feature`): a trial load, no state kept.
bool kernel_has_feature(std::string_view feature);
// How many of kPrograms this kernel loads: those without a feature, and those whose feature
// it has (what a fully loaded set of objects attaches to each container).
std::size_t kernel_program_count();

// Why the programs of `feature` are not loaded, for status and refusals: the kernel lacks
// what they need, or it has it and the hook that loaded the objects could not load them.
std::string feature_missing_reason(std::string_view feature);

}  // namespace ojh
