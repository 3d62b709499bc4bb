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

// A second instance of a BPF object, opened from its ELF bytes, for optional programs.
struct ObjectCloser {
  void operator()(bpf_object* obj) const { bpf_object__close(obj); }
};
using Object = std::unique_ptr<bpf_object, ObjectCloser>;

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

constexpr std::size_t index_of(KernelNeed need) { return static_cast<std::size_t>(need); }

// What differs between the optional needs: the object their programs come from, and how
// the objects' records and messages name them.
struct OptionalNeed {
  KernelNeed need;
  const char* object_name;  // as the skeleton names it, for libbpf's messages
  const void* (*elf_bytes)(std::size_t*);
  // Why the programs are missing although the kernel seemed to meet the need: the error
  // the kernel gave when the objects were loaded ("socket_create-error": the name of the
  // first release that had one).
  const char* error_record;
  const char* programs;  // "the kernel refused to load the <programs>"
  const char* met;       // "<met> but <error>"
};

// In the order their programs are loaded.
constexpr std::array<OptionalNeed, 2> kOptionalNeeds = {{
    {KernelNeed::BpfLsm, "block_host", block_host__elf_bytes, "socket_create-error",
     "lsm_cgroup/socket_create program", "the BPF LSM is active"},
    {KernelNeed::UnixHooks, "block_host_unix", block_host_unix__elf_bytes, "unix-error",
     "AF_UNIX programs", "the kernel has the cgroup AF_UNIX hooks"},
}};

const OptionalNeed& optional_need(KernelNeed need) {
  return need == KernelNeed::BpfLsm ? kOptionalNeeds[0] : kOptionalNeeds[1];
}

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

// Why the kernel does not meet `need` (for status and refusals).
std::string kernel_lacks(KernelNeed need) {
  if (need == KernelNeed::BpfLsm) return bpf_lsm().reason;
  return "this kernel lacks the cgroup AF_UNIX hooks (cgroup/connect_unix, Linux 6.7+)";
}

const ProgramSpec* spec_named(std::string_view bpf_name) {
  for (const ProgramSpec& p : kPrograms)
    if (bpf_name.size() == p.name.size() + 4 && bpf_name.substr(4) == p.name &&
        bpf_name.substr(0, 4) == "ojh_")
      return &p;
  return nullptr;
}

// Loads the programs of `need` from a second instance of a BPF object (`elf`: the same
// source as `base`, with them compiled in) that shares `base`'s maps, with CAP_PERFMON
// effective for this load alone: the kernel loads LSM programs, and lets a program read a
// kernel struct (the AF_UNIX programs' socket address), only for CAP_PERFMON, and a program
// verified with it loses the verifier's Spectre hardening, which the others keep
// (docs/design.md). A load of its own also keeps the AF_UNIX programs' kfunc, which Linux
// 6.1 lacks, out of the first object (bpf/CMakeLists.txt).
Object load_optional(const bpf_object* base, const OptionalNeed& optional) {
  const KernelNeed need = optional.need;
  std::size_t size = 0;
  const void* elf = optional.elf_bytes(&size);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = optional.object_name);
  Object obj(bpf_object__open_mem(elf, size, &opts));
  if (!obj) throw Error("open BPF object", errno);
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj.get()) {
    const ProgramSpec* spec = spec_named(bpf_program__name(prog));
    const bool wanted = spec && spec->needs == need;
    bpf_program__set_autoload(prog, wanted);
    // Debian 12's libbpf does not know the AF_UNIX section names: the loader says it.
    if (wanted && bpf_program__expected_attach_type(prog) != spec->attach_type)
      bpf_program__set_expected_attach_type(prog, spec->attach_type);
  }
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj.get()) {
    if (bpf_map__is_internal(map)) continue;
    const bpf_map* theirs = bpf_object__find_map_by_name(base, bpf_map__name(map));
    if (!theirs) throw Error(std::string("find map ") + bpf_map__name(map), ENOENT);
    if (int err = bpf_map__reuse_fd(map, bpf_map__fd(theirs)); err != 0)
      throw Error("share the maps with the optional programs", -err);
  }
  PerfmonForOptionalPrograms perfmon;
  if (int err = bpf_object__load(obj.get()); err != 0)
    throw Error("the kernel refused to load the " + std::string(optional.programs), -err);
  return obj;
}

// The optional programs loaded for one need, or why they were not.
struct OptionalPrograms {
  Object obj;
  std::string error;  // the kernel met the need but refused the programs
};

OptionalPrograms load_optional_for(const block_host& base, const OptionalNeed& optional) {
  if (!kernel_meets(optional.need)) return {};
  // A kernel that meets the need may still refuse the programs (a kernel that forbids LSM
  // programs, a service without CAP_PERFMON, a verifier that rejects them): the objects are
  // then published without them, and the record says why.
  try {
    return {load_optional(base.obj, optional), {}};
  } catch (const Error& e) {
    return {nullptr, std::string(optional.met) + " but " + e.what()};
  }
}

}  // namespace

bool kernel_meets(KernelNeed need) {
  switch (need) {
    case KernelNeed::None:
      return true;
    case KernelNeed::BpfLsm:
      return bpf_lsm().active;
    case KernelNeed::UnixHooks:
      return kernel_has_unix_hooks();
  }
  return false;
}

bool kernel_meets_any_optional_need() {
  return kernel_meets(KernelNeed::BpfLsm) || kernel_meets(KernelNeed::UnixHooks);
}

namespace {

// Loads this build's objects and pins them, with their build record, into `staging`.
void load_into(const std::string& staging, EgressVariant egress) {
  Skeleton skel(block_host__open());
  if (!skel) throw Error("open BPF object", errno);
  if (egress == EgressVariant::Auto)
    egress = kernel_has_skb_netns_cookie() ? EgressVariant::NetnsAware : EgressVariant::Compat;
  const bool aware = egress == EgressVariant::NetnsAware;
  bpf_program__set_autoload(skel->progs.ojh_egress, aware);
  bpf_program__set_autoload(skel->progs.ojh_egress_compat, !aware);
  // Loaded in instances of their own (load_optional), never with the others.
  bpf_program__set_autoload(skel->progs.ojh_socket_create, false);
  if (int err = block_host__load(skel.get()); err != 0)
    throw Error("load BPF programs (see `oci-jail-hook --verbose` for the verifier log)", -err);
  std::array<OptionalPrograms, kOptionalNeeds.size()> optional;
  for (std::size_t i = 0; i < kOptionalNeeds.size(); ++i)
    optional[i] = load_optional_for(*skel, kOptionalNeeds[i]);

  // Every loaded program, found by its name in the object that holds it.
  std::array<const bpf_program*, kPrograms.size()> progs{};
  for (std::size_t i = 0; i < kPrograms.size(); ++i) {
    const std::string name = "ojh_" + std::string(kPrograms[i].name);
    if (kPrograms[i].needs == KernelNeed::None) {
      progs[i] = i == OJH_HOOK_EGRESS && !aware
                     ? skel->progs.ojh_egress_compat
                     : bpf_object__find_program_by_name(skel->obj, name.c_str());
      continue;
    }
    for (std::size_t n = 0; n < kOptionalNeeds.size(); ++n)
      if (kOptionalNeeds[n].need == kPrograms[i].needs && optional[n].obj)
        progs[i] = bpf_object__find_program_by_name(optional[n].obj.get(), name.c_str());
  }
  const std::array<const bpf_map*, kMapNames.size()> maps = {
      skel->maps.ojh_rules4, skel->maps.ojh_rules6,   skel->maps.ojh_allow,
      skel->maps.ojh_policy, skel->maps.ojh_counters, skel->maps.ojh_evstate,
      skel->maps.ojh_recent, skel->maps.ojh_events};
  remove_pin_dir(staging);
  make_private_dir(staging);
  try {
    for (std::size_t i = 0; i < progs.size(); ++i)
      if (progs[i]) pin(bpf_program__fd(progs[i]), staging + "/" + std::string(kPrograms[i].name));
    for (std::size_t i = 0; i < maps.size(); ++i)
      pin(bpf_map__fd(maps[i]), staging + "/" + std::string(kMapNames[i]));
    write_record(staging, kBuildRecord, objects_build());
    for (std::size_t n = 0; n < kOptionalNeeds.size(); ++n)
      if (!optional[n].error.empty())
        write_record(staging, kOptionalNeeds[n].error_record, optional[n].error);
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

// Why objects published in `dir` lack the programs of `need`: the error the kernel gave
// when they were loaded, else why the kernel does not meet it.
std::string why_not_in(const std::string& dir, KernelNeed need) {
  std::string why = read_record(dir, optional_need(need).error_record).value_or(kernel_lacks(need));
  if (why.empty()) why = "its programs are not loaded";
  return why;
}

bool has_pins_of(const std::string& dir, KernelNeed need) {
  for (const ProgramSpec& p : kPrograms)
    if (p.needs == need && !exists(dir + "/" + std::string(p.name))) return false;
  return true;
}

}  // namespace

SharedObjects SharedObjects::open_all(const std::string& dir) {
  SharedObjects objs;
  for (std::size_t i = 0; i < kPrograms.size(); ++i) {
    const std::string path = dir + "/" + std::string(kPrograms[i].name);
    // A program with a kernel need is pinned only where the need was met at load.
    if (kPrograms[i].needs != KernelNeed::None && !exists(path)) continue;
    objs.programs[i] = open_pin(path);
  }
  for (const OptionalNeed& optional : kOptionalNeeds)
    if (!objs.has(optional.need))
      objs.why_not_[index_of(optional.need)] = why_not_in(dir, optional.need);
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

bool SharedObjects::has(KernelNeed need) const {
  for (std::size_t i = 0; i < kPrograms.size(); ++i)
    if (kPrograms[i].needs == need && !loaded(i)) return false;
  return true;
}

std::string SharedObjects::why_not(KernelNeed need) const { return why_not_[index_of(need)]; }

std::optional<std::string> published_why_not(const PinDir& pins, KernelNeed need) {
  const std::string dir = pins.objects_dir();
  if (!exists(dir)) return std::nullopt;
  if (has_pins_of(dir, need)) return "";
  return why_not_in(dir, need);
}

SharedObjects SharedObjects::open_or_load(const PinDir& pins, EgressVariant egress) {
  if (!exists(pins.objects_dir())) load_and_publish(pins, egress);
  return open_all(pins.objects_dir());
}

std::string objects_build() {
  static const std::string build = [] {
    // FNV-1a over 64-bit words: identity, not security. Every create-runtime computes it,
    // and a byte at a time it cost 0.3 ms for the two objects (bench hook-scale, "load").
    std::uint64_t h = 14695981039346656037ULL;
    const auto mix = [&h](std::uint64_t word) { h = (h ^ word) * 1099511628211ULL; };
    // Both objects: a change of the AF_UNIX programs is another build too.
    for (const auto elf_bytes : {block_host__elf_bytes, block_host_unix__elf_bytes}) {
      std::size_t size = 0;
      const auto* bytes = static_cast<const unsigned char*>(elf_bytes(&size));
      std::size_t i = 0;
      for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, bytes + i, 8);
        mix(word);
      }
      for (; i < size; ++i) mix(bytes[i]);
      mix(size);
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

const char* egress_variant_name(EgressVariant v) {
  return v == EgressVariant::NetnsAware ? "netns-aware" : "compat";
}

bool SharedObjects::open_existing(const PinDir& pins, SharedObjects& out) {
  if (!exists(pins.objects_dir())) return false;
  out = open_all(pins.objects_dir());
  return true;
}

}  // namespace ojh
