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

// What a program needs from the kernel beyond what the hook needs anyway. A program whose
// need is not met is not loaded (autoload off), has no pin in objects/ and no link per
// container; SharedObjects::programs holds no fd for it, and the rest enforces without it.
enum class KernelNeed {
  None,
  // The BPF LSM active and lsm_cgroup programs (Linux 6.0+): hook/bpf_lsm.hpp.
  BpfLsm,
  // The cgroup AF_UNIX attach types (Linux 6.7+).
  UnixHooks,
};

struct ProgramSpec {
  std::string_view name;  // pin name; "ojh_<name>" in the BPF object
  bpf_attach_type attach_type;
  KernelNeed needs = KernelNeed::None;
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

// Indexed by enum ojh_hook_kind: the name is also the program's counter name in status.
inline constexpr std::array<ProgramSpec, OJH_HOOK_MAX> kPrograms = {{
    {"connect4", BPF_CGROUP_INET4_CONNECT},
    {"connect6", BPF_CGROUP_INET6_CONNECT},
    {"sendmsg4", BPF_CGROUP_UDP4_SENDMSG},
    {"sendmsg6", BPF_CGROUP_UDP6_SENDMSG},
    {"egress", BPF_CGROUP_INET_EGRESS},
    {"socket_create", BPF_LSM_CGROUP, KernelNeed::BpfLsm},
    {"connect_unix", kCgroupUnixConnect, KernelNeed::UnixHooks},
    {"sendmsg_unix", kCgroupUnixSendmsg, KernelNeed::UnixHooks},
}};
static_assert(kPrograms[OJH_HOOK_CONNECT4].attach_type == BPF_CGROUP_INET4_CONNECT &&
                  kPrograms[OJH_HOOK_CONNECT6].attach_type == BPF_CGROUP_INET6_CONNECT &&
                  kPrograms[OJH_HOOK_SENDMSG4].attach_type == BPF_CGROUP_UDP4_SENDMSG &&
                  kPrograms[OJH_HOOK_SENDMSG6].attach_type == BPF_CGROUP_UDP6_SENDMSG &&
                  kPrograms[OJH_HOOK_EGRESS].attach_type == BPF_CGROUP_INET_EGRESS &&
                  kPrograms[OJH_HOOK_SOCKET_CREATE].attach_type == BPF_LSM_CGROUP &&
                  kPrograms[OJH_HOOK_CONNECT_UNIX].attach_type == kCgroupUnixConnect &&
                  kPrograms[OJH_HOOK_SENDMSG_UNIX].attach_type == kCgroupUnixSendmsg,
              "kPrograms follows enum ojh_hook_kind");

// Whether the running kernel meets `need`, as far as can be told before loading (a trial
// load for UnixHooks, hook/bpf_lsm.hpp for BpfLsm); no state is kept.
bool kernel_meets(KernelNeed need);
// Whether any optional program may load here: the hook then keeps CAP_PERFMON for the load
// (keep_perfmon_for_optional_programs).
bool kernel_meets_any_optional_need();

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
  // Denial records (bpf/block_host_events.h); closed (-1) when the pinned objects were
  // published by a build that predates them.
  Fd event_state;    // hash: cgroup id -> struct ojh_event_state
  Fd events_recent;  // hash: (cgroup id, slot) -> struct ojh_event
  Fd events;         // ring buffer of struct ojh_event, for followers

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
  // Whether the program of kPrograms[index] was loaded (its kernel need was met).
  bool loaded(std::size_t index) const { return static_cast<bool>(programs[index]); }
  // How many programs were loaded: the links each enforced container gets.
  std::size_t loaded_count() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < programs.size(); ++i) n += loaded(i);
    return n;
  }
  // Whether every program with this need was loaded (and so is attached to containers).
  bool has(KernelNeed need) const;
  // Whether the lsm_cgroup/socket_create program was loaded: sockets below IP are refused in
  // every enforced container, so CAP_NET_RAW need not be.
  bool refuses_raw_sockets() const { return has(KernelNeed::BpfLsm); }
  // Whether the AF_UNIX programs were loaded: abstract names of the host (and, on request,
  // every named destination) are refused.
  bool judges_unix() const { return has(KernelNeed::UnixHooks); }
  // For a need whose programs are missing: why (the kernel lacks it, or refused the
  // programs); empty otherwise. Read from the objects' records when they are opened.
  std::string why_not(KernelNeed need) const;

 private:
  // Opens the objects pinned in `dir` and reads why optional programs are missing.
  static SharedObjects open_all(const std::string& dir);
  std::array<std::string, 3> why_not_;  // indexed by KernelNeed
};

// Whether the objects published in `pins` have the programs of `need`, from the pins alone
// (no lock, nothing loaded): nullopt while none are published, "" when they do, else why not
// (the kernel refused the programs, or it lacks what they need).
std::optional<std::string> published_why_not(const PinDir& pins, KernelNeed need);

}  // namespace ojh
