// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ojh {

// Capabilities that let a process get around cgroup BPF, so a container that may hold one
// is refused unless the admin config accepts it (allow-capabilities):
//   CAP_NET_RAW     AF_PACKET sockets write frames below IP, where no cgroup program runs
//                   (accepted where the BPF LSM refuses those sockets: RawSocketGuard)
//   CAP_SYS_ADMIN   can fetch the hook's links by id and detach them, mount bpffs, ...
//   CAP_SYS_MODULE  loads kernel code
//   CAP_SYS_RAWIO   raw I/O ports and device memory
//   CAP_SYS_PTRACE  can take over host processes where the PID namespace is shared
//   CAP_NET_ADMIN   a NAT rule in the container's own netns rewrites an allowed destination
//                   into a host address after connect() was judged (nftables DNAT)
// A privileged container holds all of them.
inline constexpr std::array<std::string_view, 6> kBypassCapabilities = {
    "CAP_NET_RAW",   "CAP_SYS_ADMIN",  "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_PTRACE", "CAP_NET_ADMIN"};

// <linux/capability.h> numbers of the capabilities above.
inline constexpr std::array<std::pair<unsigned long, std::string_view>, 6> kBypassCapabilityBits = {
    {{13, "CAP_NET_RAW"},
     {21, "CAP_SYS_ADMIN"},
     {16, "CAP_SYS_MODULE"},
     {17, "CAP_SYS_RAWIO"},
     {19, "CAP_SYS_PTRACE"},
     {12, "CAP_NET_ADMIN"}}};

// A capability name as libcap would read it ("cap_net_raw", " NET_RAW", "13", "0x0d"):
// "CAP_NET_RAW".
std::string canonical_capability(std::string_view name);

// How the sockets CAP_NET_RAW opens (packet, raw IP: bpf/raw_sockets.h) are kept from an
// enforced container. Where the BPF LSM is active an lsm_cgroup program refuses them in
// every enforced container, and CAP_NET_RAW need not be refused; elsewhere nothing can, so
// CAP_NET_RAW is refused unless the admin accepts it.
struct RawSocketGuard {
  bool by_lsm = false;
  std::string why_not;  // without the LSM: why (named in the refusal line); may be empty
};

// The capabilities of `granted` (in any spelling libcap accepts) that are in
// kBypassCapabilities and not in `admin_allowed`; CAP_NET_RAW not when `raw.by_lsm`.
std::vector<std::string> refused_capabilities(const std::set<std::string>& granted,
                                              const std::vector<std::string>& admin_allowed,
                                              const RawSocketGuard& raw = {});

// Throws ojh::Error naming the refused capabilities and both ways out, when any; for
// CAP_NET_RAW also why the BPF LSM cannot refuse its sockets instead.
void check_capabilities(const std::set<std::string>& granted,
                        const std::vector<std::string>& admin_allowed,
                        const RawSocketGuard& raw = {});

// A container that can write to a cgroup filesystem showing cgroups outside its own can
// move its processes out of the enforced cgroup: a writable bind mount of the host's
// cgroup tree, or a writable cgroup/cgroup2 mount without a cgroup namespace of its own
// (inside one it only sees its own subtree, whose root the hook enforces). Throws
// ojh::Error naming the mount.
struct BundleConfig;
void check_cgroup_mounts(const BundleConfig& config);

}  // namespace ojh
