// SPDX-License-Identifier: Apache-2.0
#include "hook/objects_upgrade.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <string>
#include <tuple>
#include <vector>

#include "hook/enforcement.hpp"
#include "hook/logging.hpp"
#include "hook/rule_maps.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

bpf_map_info map_info(int fd) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) throw Error("read BPF map info", errno);
  return info;
}

bool same_layout(int a, int b) {
  const bpf_map_info x = map_info(a), y = map_info(b);
  return x.type == y.type && x.key_size == y.key_size && x.value_size == y.value_size;
}

// Every entry of `from` into `to`, bytes as they are (the layouts were checked equal).
void copy_map(int from, int to, const char* what) {
  const bpf_map_info info = map_info(from);
  std::vector<unsigned char> key(info.key_size), next(info.key_size), value(info.value_size);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(from, prev, next.data()) == 0) {
    key = next;
    prev = key.data();
    if (bpf_map_lookup_elem(from, key.data(), value.data()) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      throw Error(std::string("read the old ") + what, errno);
    }
    if (bpf_map_update_elem(to, key.data(), value.data(), BPF_ANY) != 0)
      throw_insert_error(std::string("copy the old ") + what, errno);
  }
  if (errno != ENOENT) throw Error(std::string("walk the old ") + what, errno);
}

bool any_live_container(const PinDir& pins, const SharedObjects& objs) {
  for (const EnforcedContainer& c : list_enforced(pins, objs))
    if (c.cgroup_alive) return true;
  return false;
}

}  // namespace

SharedObjects open_current_objects(const PinDir& pins, EgressVariant egress) {
  const std::optional<std::string> pinned = pinned_objects_build(pins);
  if (!pinned || *pinned == objects_build()) return SharedObjects::open_or_load(pins, egress);

  SharedObjects old;
  if (!SharedObjects::open_existing(pins, old)) return SharedObjects::open_or_load(pins, egress);
  std::string staging;
  SharedObjects fresh = SharedObjects::load_staged(pins, egress, staging);
  try {
    const bool live = any_live_container(pins, old);
    if (live) {
      for (auto [a, b, what] : {std::tuple{old.rules4.get(), fresh.rules4.get(), "IPv4 rules"},
                                std::tuple{old.rules6.get(), fresh.rules6.get(), "IPv6 rules"},
                                std::tuple{old.allow.get(), fresh.allow.get(), "exceptions"},
                                std::tuple{old.policy.get(), fresh.policy.get(), "policies"}})
        if (!same_layout(a, b))
          throw Refusal(std::string("the BPF objects pinned in ") + pins.objects_dir() +
                        " come from another build of oci-jail-hook whose " + what +
                        " have another layout, and containers enforced by them still run: they "
                        "stay protected, new containers are refused until they stop (or the "
                        "host reboots); `oci-jail-hook status` lists them");
      copy_map(old.rules4.get(), fresh.rules4.get(), "IPv4 rules");
      copy_map(old.rules6.get(), fresh.rules6.get(), "IPv6 rules");
      copy_map(old.allow.get(), fresh.allow.get(), "exceptions");
    }
    const std::size_t moved = live ? relink_entries(pins, old, fresh) : 0;
    SharedObjects::publish_staged(pins, staging);
    log_info("", "upgrade: the pinned BPF objects of build " + (pinned->empty() ? "?" : *pinned) +
                     " replaced by build " + objects_build() + "; " + std::to_string(moved) +
                     " running container(s) moved to the new programs");
  } catch (...) {
    remove_pin_dir(staging);
    throw;
  }
  return SharedObjects::open_or_load(pins, egress);
}

}  // namespace ojh
