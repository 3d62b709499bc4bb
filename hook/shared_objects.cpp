// SPDX-License-Identifier: Apache-2.0
#include "hook/shared_objects.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "block_host.skel.h"
#include "hook/bpf_lsm.hpp"
#include "hook/capabilities.hpp"
#include "hook/pin_dir.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

struct SkeletonDeleter {
  void operator()(block_host* skel) const { block_host__destroy(skel); }
};
using Skeleton = std::unique_ptr<block_host, SkeletonDeleter>;

constexpr std::array<std::string_view, 8> kMapNames = {
    "rules4", "rules6", "allow", "policy", "counters", "event_state", "events_recent", "events"};

Fd open_pin(const std::string& path) {
  Fd fd(bpf_obj_get(path.c_str()));
  if (!fd) throw Error("open pinned object " + path, errno);
  return fd;
}

Fd open_optional_pin(const std::string& path) {
  Fd fd(bpf_obj_get(path.c_str()));
  if (!fd && errno != ENOENT) throw Error("open pinned object " + path, errno);
  return fd;
}

void pin(int fd, const std::string& path) {
  if (bpf_obj_pin(fd, path.c_str()) != 0) throw Error("pin " + path, errno);
}

// Verifies and loads the programs, pins every object into a staging directory and renames
// it into place, so a hook killed half-way never leaves a partial objects/ behind.
// A trial load of the smallest cgroup_skb program that calls the helper. Not
// libbpf_probe_bpf_helper(): libbpf 1.1 takes the verifier message of 6.12 ("program of this
// type cannot use helper") for support, and the real load then fails.
bool kernel_has_skb_netns_cookie() {
  const bpf_insn insns[] = {
      {.code = BPF_JMP | BPF_CALL,
       .dst_reg = 0,
       .src_reg = 0,
       .off = 0,
       .imm = BPF_FUNC_get_netns_cookie},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 1},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  Fd prog(bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, "ojh_probe", "GPL", insns,
                        sizeof(insns) / sizeof(insns[0]), nullptr));
  return static_cast<bool>(prog);
}

constexpr const char* kBuildRecord = "build";
// Why the socket_create program is missing although the BPF LSM is active.
constexpr const char* kLsmErrorRecord = "socket_create-error";

// Whether the kernel meets a program's need (KernelNeed), as far as can be told before
// loading it.
bool need_met(KernelNeed need) {
  switch (need) {
    case KernelNeed::None:
      return true;
    case KernelNeed::BpfLsm:
      return bpf_lsm().active;
  }
  return false;
}

// Loads the lsm_cgroup program into a second instance of the same object whose maps are the
// ones `main` created, with CAP_PERFMON effective for this load alone: the kernel loads
// BPF_PROG_TYPE_LSM only for CAP_PERFMON, and a program verified with it loses the
// verifier's Spectre hardening, which the other programs keep (docs/design.md). Returns the
// instance, which holds the program's fd.
Skeleton load_lsm_program(const block_host& main) {
  Skeleton lsm(block_host__open());
  if (!lsm) throw Error("open BPF object", errno);
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, lsm->obj)
      bpf_program__set_autoload(prog, prog == lsm->progs.ojh_socket_create);
  const bpf_map* from = bpf_object__next_map(main.obj, nullptr);
  bpf_map* to = bpf_object__next_map(lsm->obj, nullptr);
  for (; from && to;
       from = bpf_object__next_map(main.obj, from), to = bpf_object__next_map(lsm->obj, to))
    if (bpf_map__reuse_fd(to, bpf_map__fd(from)) != 0)
      throw Error("share the maps with the lsm_cgroup program", errno);
  PerfmonForLsmLoad perfmon;
  if (int err = block_host__load(lsm.get()); err != 0)
    throw Error("the kernel refused to load the lsm_cgroup/socket_create program", -err);
  return lsm;
}

// Loads this build's objects and pins them, with their build record, into `staging`.
void load_into(const std::string& staging, EgressVariant egress) {
  Skeleton skel(block_host__open());
  if (!skel) throw Error("open BPF object", errno);
  if (egress == EgressVariant::Auto)
    egress = kernel_has_skb_netns_cookie() ? EgressVariant::NetnsAware : EgressVariant::Compat;
  const bool aware = egress == EgressVariant::NetnsAware;
  bpf_program__set_autoload(skel->progs.ojh_egress, aware);
  bpf_program__set_autoload(skel->progs.ojh_egress_compat, !aware);
  // Loaded in a second instance (load_lsm_program), never with the others.
  bpf_program__set_autoload(skel->progs.ojh_socket_create, false);
  if (int err = block_host__load(skel.get()); err != 0)
    throw Error("load BPF programs (see `oci-jail-hook --verbose` for the verifier log)", -err);
  // A kernel that lists the BPF LSM may still refuse the program (a kernel that forbids
  // LSM programs, a service without CAP_PERFMON, a verifier that rejects it): the objects
  // are then published without it, CAP_NET_RAW stays refused, and the record says why.
  Skeleton lsm;
  std::string lsm_error;
  if (need_met(kPrograms[OJH_HOOK_SOCKET_CREATE].needs)) {
    try {
      lsm = load_lsm_program(*skel);
    } catch (const Error& e) {
      lsm_error = std::string("the BPF LSM is active but ") + e.what();
    }
  }

  remove_pin_dir(staging);
  make_private_dir(staging);
  const std::array<const bpf_program*, kPrograms.size()> progs = {
      skel->progs.ojh_connect4,
      skel->progs.ojh_connect6,
      skel->progs.ojh_sendmsg4,
      skel->progs.ojh_sendmsg6,
      aware ? skel->progs.ojh_egress : skel->progs.ojh_egress_compat,
      lsm ? lsm->progs.ojh_socket_create : nullptr};
  const std::array<const bpf_map*, kMapNames.size()> maps = {
      skel->maps.ojh_rules4, skel->maps.ojh_rules6,   skel->maps.ojh_allow,
      skel->maps.ojh_policy, skel->maps.ojh_counters, skel->maps.ojh_evstate,
      skel->maps.ojh_recent, skel->maps.ojh_events};
  try {
    for (std::size_t i = 0; i < progs.size(); ++i)
      if (progs[i]) pin(bpf_program__fd(progs[i]), staging + "/" + std::string(kPrograms[i].name));
    for (std::size_t i = 0; i < maps.size(); ++i)
      pin(bpf_map__fd(maps[i]), staging + "/" + std::string(kMapNames[i]));
    write_record(staging, kBuildRecord, objects_build());
    if (!lsm_error.empty()) write_record(staging, kLsmErrorRecord, lsm_error);
  } catch (...) {
    remove_pin_dir(staging);
    throw;
  }
}

void load_and_publish(const PinDir& pins, EgressVariant egress) {
  const std::string staging = pins.staging_dir("objects");
  load_into(staging, egress);
  if (::rename(staging.c_str(), pins.objects_dir().c_str()) != 0) {
    const int err = errno;
    remove_pin_dir(staging);
    throw Error("publish " + pins.objects_dir(), err);
  }
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Why objects published in `dir` without the socket_create program lack it: the error the
// kernel gave when they were loaded, else why the BPF LSM is not there (may be empty).
std::string raw_sockets_why_not_in(const std::string& dir) {
  return read_record(dir, kLsmErrorRecord).value_or(bpf_lsm().reason);
}

SharedObjects open_all(const std::string& dir) {
  SharedObjects objs;
  for (std::size_t i = 0; i < kPrograms.size(); ++i) {
    const std::string path = dir + "/" + std::string(kPrograms[i].name);
    // A program with a kernel need is pinned only where the need was met at load.
    if (kPrograms[i].needs != KernelNeed::None && !exists(path)) continue;
    objs.programs[i] = open_pin(path);
  }
  if (!objs.refuses_raw_sockets()) objs.raw_sockets_why_not = raw_sockets_why_not_in(dir);
  objs.rules4 = open_pin(dir + "/rules4");
  objs.rules6 = open_pin(dir + "/rules6");
  objs.allow = open_pin(dir + "/allow");
  objs.policy = open_pin(dir + "/policy");
  objs.counters = open_pin(dir + "/counters");
  // Objects published by a build before denial records have none of these: they stay
  // closed until an upgrade replaces the objects (the next create-runtime).
  objs.event_state = open_optional_pin(dir + "/event_state");
  objs.events_recent = open_optional_pin(dir + "/events_recent");
  objs.events = open_optional_pin(dir + "/events");
  return objs;
}

}  // namespace

std::optional<std::string> published_raw_sockets_why_not(const PinDir& pins) {
  const std::string dir = pins.objects_dir();
  if (!exists(dir)) return std::nullopt;
  if (exists(dir + "/" + std::string(kPrograms[OJH_HOOK_SOCKET_CREATE].name))) return "";
  std::string why = raw_sockets_why_not_in(dir);
  return why.empty() ? "no socket_create program is loaded" : why;
}

SharedObjects SharedObjects::open_or_load(const PinDir& pins, EgressVariant egress) {
  if (!exists(pins.objects_dir())) load_and_publish(pins, egress);
  return open_all(pins.objects_dir());
}

std::string objects_build() {
  static const std::string build = [] {
    std::size_t size = 0;
    const auto* bytes = static_cast<const unsigned char*>(block_host__elf_bytes(&size));
    std::uint64_t h = 14695981039346656037ULL;  // FNV-1a: identity, not security
    for (std::size_t i = 0; i < size; ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
    return std::string(hex);
  }();
  return build;
}

std::optional<std::string> pinned_objects_build(const PinDir& pins) {
  if (!exists(pins.objects_dir())) return std::nullopt;
  return read_record(pins.objects_dir(), kBuildRecord).value_or("");
}

SharedObjects SharedObjects::load_staged(const PinDir& pins, EgressVariant egress,
                                         std::string& staging) {
  staging = pins.staging_dir("objects");
  load_into(staging, egress);
  return open_all(staging);
}

void SharedObjects::publish_staged(const PinDir& pins, const std::string& staging) {
  const std::string old = pins.staging_dir("objects-old");
  if (::rename(pins.objects_dir().c_str(), old.c_str()) != 0)
    throw Error("retire " + pins.objects_dir(), errno);
  if (::rename(staging.c_str(), pins.objects_dir().c_str()) != 0)
    throw Error("publish " + pins.objects_dir(), errno);
  // The retired programs stay loaded while a link still runs them; nothing does any more.
  remove_pin_dir(old);
}

EgressVariant SharedObjects::egress_variant() const {
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(programs[OJH_HOOK_EGRESS].get(), &info, &len) != 0)
    throw Error("read egress program info", errno);
  // The kernel keeps 15 characters of a name: "ojh_egress" or "ojh_egress_comp".
  return std::string_view(info.name) == "ojh_egress" ? EgressVariant::NetnsAware
                                                     : EgressVariant::Compat;
}

const char* egress_variant_name(EgressVariant v) {
  return v == EgressVariant::NetnsAware ? "netns-aware" : "compat";
}

bool SharedObjects::open_existing(const PinDir& pins, SharedObjects& out) {
  if (!exists(pins.objects_dir())) return false;
  out = open_all(pins.objects_dir());
  return true;
}

}  // namespace ojh
