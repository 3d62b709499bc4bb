// SPDX-License-Identifier: Apache-2.0
#include "hook/bpf_lsm.hpp"

#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace ojh {
namespace {

// lsm_list_modules(2) and the LSM ids of <linux/lsm.h> (Linux 6.8; Debian 12's headers
// predate it). The syscall number is the same on every architecture of the generic table.
#ifdef SYS_lsm_list_modules
static_assert(SYS_lsm_list_modules == 461);
#endif
constexpr long kSysLsmListModules = 461;
constexpr std::uint64_t kLsmIdBpf = 109;

const char* lsm_id_name(std::uint64_t id) {
  switch (id) {
    case 100:
      return "capability";
    case 101:
      return "selinux";
    case 102:
      return "smack";
    case 103:
      return "tomoyo";
    case 104:
      return "apparmor";
    case 105:
      return "yama";
    case 106:
      return "loadpin";
    case 107:
      return "safesetid";
    case 108:
      return "lockdown";
    case 109:
      return "bpf";
    case 110:
      return "landlock";
    case 111:
      return "ima";
    case 112:
      return "evm";
    case 113:
      return "ipe";
    default:
      return nullptr;
  }
}

// The active LSMs as a comma-separated list, from the syscall; nullopt where the kernel
// lacks it.
std::optional<std::string> lsms_from_syscall(bool& has_bpf) {
  std::uint64_t ids[64] = {};
  std::uint32_t size = sizeof(ids);
  const long n = ::syscall(kSysLsmListModules, ids, &size, 0u);
  if (n < 0) return std::nullopt;
  std::string list;
  for (long i = 0; i < n && i < 64; ++i) {
    has_bpf = has_bpf || ids[i] == kLsmIdBpf;
    const char* name = lsm_id_name(ids[i]);
    list += (list.empty() ? "" : ",") + (name ? std::string(name) : std::to_string(ids[i]));
  }
  return list;
}

constexpr const char* kSecurityfsLsm = "/sys/kernel/security/lsm";

// Read only where securityfs is mounted already: mounting it would change the mounts of the
// runtime's namespace, which are the host's.
std::optional<std::string> lsms_from_securityfs(bool& has_bpf) {
  std::ifstream in(kSecurityfsLsm);
  std::string list;
  if (!in || !std::getline(in, list)) return std::nullopt;
  std::istringstream names(list);
  for (std::string name; std::getline(names, name, ',');) has_bpf = has_bpf || name == "bpf";
  return list;
}

// lsm_cgroup programs came with Linux 6.0. An older kernel with the BPF LSM active (5.x)
// keeps refusing CAP_NET_RAW instead of failing every container at load.
bool kernel_has_lsm_cgroup(std::string& release) {
  struct utsname u {};
  if (::uname(&u) != 0) return false;
  release = u.release;
  unsigned major = 0;
  return std::sscanf(u.release, "%u", &major) == 1 && major >= 6;
}

BpfLsm detect() {
  std::string release;
  if (!kernel_has_lsm_cgroup(release))
    return {false, "Linux " + release + " has no lsm_cgroup programs (6.0+)"};
  bool has_bpf = false;
  std::optional<std::string> list = lsms_from_syscall(has_bpf);
  if (!list) list = lsms_from_securityfs(has_bpf);
  if (!list)
    return {false,
            "the active LSMs are unknown (no lsm_list_modules(2), Linux 6.8+, and "
            "securityfs is not mounted at /sys/kernel/security): the BPF LSM counts as "
            "not active"};
  if (has_bpf) return {true, ""};
  return {false, "the BPF LSM is not active (active LSMs: " + *list +
                     "; add bpf to the kernel's lsm= list)"};
}

std::optional<BpfLsm>& cached() {
  static std::optional<BpfLsm> state;
  return state;
}

}  // namespace

const BpfLsm& bpf_lsm() {
  if (!cached()) cached() = detect();
  return *cached();
}

void override_bpf_lsm(const BpfLsm& state) { cached() = state; }

}  // namespace ojh
