// SPDX-License-Identifier: Apache-2.0
#include "hook/shared_objects.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "block_host.skel.h"
#include "block_host_unix.skel.h"
#include "hook/capabilities.hpp"
#include "hook/logging.hpp"
#include "hook/pin_dir.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

struct SkeletonDeleter {
  void operator()(block_host* skel) const { block_host__destroy(skel); }
  void operator()(block_host_unix* skel) const { block_host_unix__destroy(skel); }
};
using Skeleton = std::unique_ptr<block_host, SkeletonDeleter>;
// The same source built with the AF_UNIX programs (bpf/CMakeLists.txt).
using UnixSkeleton = std::unique_ptr<block_host_unix, SkeletonDeleter>;

constexpr std::array<std::string_view, 5> kMapNames = {"rules4", "rules6", "allow", "policy",
                                                       "counters"};

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Fd open_pin(const std::string& path) {
  Fd fd(bpf_obj_get(path.c_str()));
  if (!fd) throw Error("open pinned object " + path, errno);
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

// Whether the kernel has the cgroup AF_UNIX attach types (Linux 6.7): a trial load of
// "return 1" as a connect_unix program; older kernels refuse the attach type.
bool kernel_has_unix_hooks() {
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 1},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = kCgroupUnixConnect);
  Fd prog(bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "ojh_probe", "GPL", insns,
                        sizeof(insns) / sizeof(insns[0]), &opts));
  return static_cast<bool>(prog);
}

}  // namespace

bool kernel_has_feature(std::string_view feature) {
  return feature == kUnixFeature && kernel_has_unix_hooks();
}

std::size_t kernel_program_count() {
  std::size_t n = 0;
  for (const ProgramSpec& p : kPrograms) n += p.feature.empty() || kernel_has_feature(p.feature);
  return n;
}

namespace {

// The skeleton's programs in kPrograms order (the first object has no AF_UNIX programs);
// `aware` picks the egress variant.
std::array<bpf_program*, kPrograms.size()> programs_of(block_host* skel, bool aware) {
  return {skel->progs.ojh_connect4,
          skel->progs.ojh_connect6,
          skel->progs.ojh_sendmsg4,
          skel->progs.ojh_sendmsg6,
          aware ? skel->progs.ojh_egress : skel->progs.ojh_egress_compat,
          nullptr,
          nullptr};
}

std::array<bpf_program*, kPrograms.size()> programs_of(block_host_unix* skel) {
  return {skel->progs.ojh_connect4,    skel->progs.ojh_connect6, skel->progs.ojh_sendmsg4,
          skel->progs.ojh_sendmsg6,    skel->progs.ojh_egress,   skel->progs.ojh_connect_unix,
          skel->progs.ojh_sendmsg_unix};
}

template <typename Skel>
std::array<bpf_map*, kMapNames.size()> maps_of(Skel* skel) {
  return {skel->maps.ojh_rules4, skel->maps.ojh_rules6, skel->maps.ojh_allow, skel->maps.ojh_policy,
          skel->maps.ojh_counters};
}

// The programs of optional features, loaded from the second object (the same source with
// them compiled in) with the first one's maps. A load of their own: they call a kfunc that
// Linux 6.1 lacks (libbpf 1.1 would refuse the whole object there), and they read the
// kernel's socket address, which the verifier allows only with CAP_PERFMON, which also
// switches off its Spectre hardening: the other programs are verified without it. A feature
// that cannot be loaded is left out (status says so); the rest still enforces.
UnixSkeleton load_optional(block_host* base, std::array<bool, kPrograms.size()>& loaded) {
  std::array<bool, kPrograms.size()> wanted{};
  bool any = false;
  for (std::size_t i = 0; i < kPrograms.size(); ++i) {
    if (kPrograms[i].feature.empty()) continue;
    wanted[i] = kernel_has_feature(kPrograms[i].feature);
    any = any || wanted[i];
  }
  if (!any) return nullptr;
  UnixSkeleton skel(block_host_unix__open());
  if (!skel) throw Error("open BPF object", errno);
  const auto progs = programs_of(skel.get());
  bpf_program__set_autoload(skel->progs.ojh_egress_compat, false);
  for (std::size_t i = 0; i < progs.size(); ++i) {
    bpf_program__set_autoload(progs[i], wanted[i]);
    if (wanted[i]) bpf_program__set_expected_attach_type(progs[i], kPrograms[i].attach_type);
  }
  const auto mine = maps_of(skel.get());
  const auto theirs = maps_of(base);
  for (std::size_t i = 0; i < mine.size(); ++i)
    if (int err = bpf_map__reuse_fd(mine[i], bpf_map__fd(theirs[i])); err != 0)
      throw Error("share the BPF maps with the optional programs", -err);
  const ScopedPerfmon perfmon;
  if (!perfmon.raised()) {
    log_info("", "the AF_UNIX programs are not loaded: the hook does not hold CAP_PERFMON");
    return nullptr;
  }
  if (int err = block_host_unix__load(skel.get()); err != 0) {
    // An optional part: the IP programs enforce without it, and status reports it.
    log_error("", "the AF_UNIX programs did not load (" + std::string(std::strerror(-err)) +
                      "): AF_UNIX destinations are not judged; see `oci-jail-hook --verbose`");
    return nullptr;
  }
  loaded = wanted;
  return skel;
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
  if (int err = block_host__load(skel.get()); err != 0)
    throw Error("load BPF programs (see `oci-jail-hook --verbose` for the verifier log)", -err);
  std::array<bool, kPrograms.size()> optional_loaded{};
  const UnixSkeleton optional = load_optional(skel.get(), optional_loaded);

  remove_pin_dir(staging);
  make_private_dir(staging);
  const auto progs = programs_of(skel.get(), aware);
  const auto optional_progs = optional ? programs_of(optional.get()) : progs;
  const auto maps = maps_of(skel.get());
  try {
    for (std::size_t i = 0; i < progs.size(); ++i) {
      const std::string path = staging + "/" + std::string(kPrograms[i].name);
      if (kPrograms[i].feature.empty())
        pin(bpf_program__fd(progs[i]), path);
      else if (optional_loaded[i])
        pin(bpf_program__fd(optional_progs[i]), path);
    }
    for (std::size_t i = 0; i < maps.size(); ++i)
      pin(bpf_map__fd(maps[i]), staging + "/" + std::string(kMapNames[i]));
    write_record(staging, kBuildRecord, objects_build());
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

SharedObjects open_all(const std::string& dir) {
  SharedObjects objs;
  for (std::size_t i = 0; i < kPrograms.size(); ++i) {
    const std::string path = dir + "/" + std::string(kPrograms[i].name);
    // A program of an optional feature is pinned only where it was loaded.
    if (!kPrograms[i].feature.empty() && !exists(path)) continue;
    objs.programs[i] = open_pin(path);
  }
  objs.rules4 = open_pin(dir + "/rules4");
  objs.rules6 = open_pin(dir + "/rules6");
  objs.allow = open_pin(dir + "/allow");
  objs.policy = open_pin(dir + "/policy");
  objs.counters = open_pin(dir + "/counters");
  return objs;
}

}  // namespace

SharedObjects SharedObjects::open_or_load(const PinDir& pins, EgressVariant egress) {
  if (!exists(pins.objects_dir())) load_and_publish(pins, egress);
  return open_all(pins.objects_dir());
}

std::string objects_build() {
  static const std::string build = [] {
    std::uint64_t h = 14695981039346656037ULL;  // FNV-1a: identity, not security
    // Both objects: a change of the AF_UNIX programs is another build too.
    for (const auto elf_bytes : {block_host__elf_bytes, block_host_unix__elf_bytes}) {
      std::size_t size = 0;
      const auto* bytes = static_cast<const unsigned char*>(elf_bytes(&size));
      for (std::size_t i = 0; i < size; ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
    }
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

bool SharedObjects::has_feature(std::string_view feature) const {
  for (std::size_t i = 0; i < kPrograms.size(); ++i)
    if (kPrograms[i].feature == feature && !loaded(i)) return false;
  return true;
}

std::string feature_missing_reason(std::string_view feature) {
  if (!kernel_has_feature(feature))
    return "this kernel lacks the cgroup AF_UNIX hooks (cgroup/connect_unix, Linux 6.7+)";
  return "the kernel has the cgroup AF_UNIX hooks, but the hook that loaded the BPF objects "
         "could not load its AF_UNIX programs (no CAP_PERFMON, or see its log)";
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
