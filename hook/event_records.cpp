// SPDX-License-Identifier: Apache-2.0
#include "hook/event_records.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "oci/error.hpp"

namespace ojh {

std::vector<ojh_event> retained_events(const SharedObjects& objs, std::uint64_t cgroup_id) {
  std::vector<ojh_event> out;
  if (!objs.events_recent) return out;
  for (std::uint64_t slot = 0; slot < OJH_EVENT_SLOTS; ++slot) {
    const ojh_event_key key{cgroup_id, slot};
    ojh_event e{};
    if (bpf_map_lookup_elem(objs.events_recent.get(), &key, &e) == 0) {
      out.push_back(e);
    } else if (errno != ENOENT) {
      throw Error("read the denial records of cgroup " + std::to_string(cgroup_id), errno);
    }
  }
  // The sequence number orders them; it wraps only after 2^32 records of one container.
  std::sort(out.begin(), out.end(),
            [](const ojh_event& a, const ojh_event& b) { return a.seq < b.seq; });
  return out;
}

std::optional<ojh_event_state> event_state(const SharedObjects& objs, std::uint64_t cgroup_id) {
  if (!objs.event_state) return std::nullopt;
  ojh_event_state s{};
  if (bpf_map_lookup_elem(objs.event_state.get(), &cgroup_id, &s) == 0) return s;
  if (errno != ENOENT)
    throw Error("read the denial record state of cgroup " + std::to_string(cgroup_id), errno);
  return std::nullopt;
}

std::map<std::uint64_t, ojh_event_state> all_event_states(const SharedObjects& objs) {
  std::map<std::uint64_t, ojh_event_state> out;
  if (!objs.event_state) return out;
  std::uint64_t key = 0, next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(objs.event_state.get(), prev, &next) == 0) {
    key = next;
    prev = &key;
    ojh_event_state s{};
    if (bpf_map_lookup_elem(objs.event_state.get(), &key, &s) == 0) out.emplace(key, s);
  }
  return out;
}

void erase_event_records(const SharedObjects& objs, std::uint64_t cgroup_id) {
  // The state first: a program that still runs for the container (its links are detached
  // before this) would find no state and start over, which gc then removes. A container
  // that was never refused has no state and so no records (a program writes records only
  // after it made the state): its release is that one failed delete, not OJH_EVENT_SLOTS
  // more (about 0.1 ms of every poststop).
  if (objs.event_state && bpf_map_delete_elem(objs.event_state.get(), &cgroup_id) != 0) {
    if (errno == ENOENT) return;
    throw Error("delete the denial record state of cgroup " + std::to_string(cgroup_id), errno);
  }
  if (!objs.events_recent) return;
  for (std::uint64_t slot = 0; slot < OJH_EVENT_SLOTS; ++slot) {
    const ojh_event_key key{cgroup_id, slot};
    if (bpf_map_delete_elem(objs.events_recent.get(), &key) != 0 && errno != ENOENT)
      throw Error("delete the denial records of cgroup " + std::to_string(cgroup_id), errno);
  }
}

std::size_t count_event_records(const SharedObjects& objs) {
  if (!objs.events_recent) return 0;
  std::size_t n = 0;
  ojh_event_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(objs.events_recent.get(), prev, &next) == 0) {
    key = next;
    prev = &key;
    ++n;
  }
  return n;
}

}  // namespace ojh
