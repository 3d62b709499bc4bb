// SPDX-License-Identifier: Apache-2.0
// `metrics`: what the kernel enforces, as OpenMetrics text (docs/metrics.md) for a
// node-exporter textfile collector or a scrape through a small exporter.
#include <bpf/bpf.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/enforcement.hpp"
#include "hook/event_records.hpp"
#include "hook/exception_map.hpp"
#include "hook/pin_dir.hpp"
#include "hook/rule_maps.hpp"
#include "hook/shared_objects.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

// A label value as OpenMetrics writes it: backslash, double quote and newline escaped.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::uint32_t capacity(int fd) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return 0;
  return info.max_entries;
}

void family(const char* name, const char* type, const char* help) {
  std::printf("# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
}

}  // namespace

int run_metrics(const Options& opts) {
  if (opts.rootless) throw Error("metrics covers every container on the host and needs root");
  restrict_capabilities(CapabilitySet::kAttachMounted);
  std::vector<EnforcedContainer> containers;
  std::map<std::uint64_t, ojh_event_state> states;
  std::map<std::string, std::pair<std::size_t, std::uint32_t>> maps;  // used, capacity
  const auto pins = PinDir::open_existing(opts.pin_dir);
  SharedObjects objs;
  if (pins && SharedObjects::open_existing(*pins, objs)) {
    containers = list_enforced(*pins, objs);
    states = all_event_states(objs);
    const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
    std::size_t rule_entries = 0, exception_entries = 0;
    for (const auto& [id, n] : rules.entry_counts()) rule_entries += n;
    for (const auto& [id, n] : ExceptionMap(objs.allow.get()).entry_counts())
      exception_entries += n;
    // The two tries share one count: entry_counts does not tell the families apart.
    maps["rules"] = {rule_entries, capacity(objs.rules4.get()) + capacity(objs.rules6.get())};
    maps["allow"] = {exception_entries, capacity(objs.allow.get())};
    maps["event_state"] = {states.size(), capacity(objs.event_state.get())};
    maps["events_recent"] = {count_event_records(objs), capacity(objs.events_recent.get())};
  }
  restrict_capabilities(CapabilitySet::kNone);

  std::size_t enforce = 0, audit = 0;
  for (const EnforcedContainer& c : containers) {
    if (!c.cgroup_alive) continue;
    ++(c.policy.flags & OJH_POLICY_AUDIT ? audit : enforce);
  }
  family("ojh_enforced_containers", "gauge",
         "Containers whose cgroup the programs are attached to.");
  std::printf("ojh_enforced_containers{mode=\"enforce\"} %zu\n", enforce);
  std::printf("ojh_enforced_containers{mode=\"audit\"} %zu\n", audit);

  for (const auto& [name, help, audited] :
       {std::tuple{"ojh_denied", "Operations refused, per container and program.", false},
        std::tuple{"ojh_audited",
                   "Operations audit mode allowed that enforce mode would have refused.", true}}) {
    family(name, "counter", help);
    for (const EnforcedContainer& c : containers) {
      if (!c.cgroup_alive) continue;
      for (int k = 0; k < OJH_HOOK_MAX; ++k)
        std::printf("%s_total{container=\"%s\",cgroup_id=\"%llu\",operation=\"%s\"} %llu\n", name,
                    label(c.id).c_str(), static_cast<unsigned long long>(c.cgroup_id),
                    kPrograms[k].name.data(),
                    static_cast<unsigned long long>(audited ? c.counters.audited[k]
                                                            : c.counters.denied[k]));
    }
  }

  struct RecordCounter {
    const char* name;
    const char* help;
    decltype(ojh_event_state::seq) ojh_event_state::*count;
  };
  for (const RecordCounter& rc :
       {RecordCounter{"ojh_event_records",
                      "Denial records kept and streamed (bpf/block_host_events.h), per "
                      "container.",
                      &ojh_event_state::seq},
        RecordCounter{"ojh_event_records_dropped",
                      "Denial records the kernel's per-container rate limit dropped.",
                      &ojh_event_state::dropped}}) {
    family(rc.name, "counter", rc.help);
    for (const EnforcedContainer& c : containers)
      if (const auto it = states.find(c.cgroup_id); c.cgroup_alive && it != states.end())
        std::printf("%s_total{container=\"%s\",cgroup_id=\"%llu\"} %llu\n", rc.name,
                    label(c.id).c_str(), static_cast<unsigned long long>(c.cgroup_id),
                    static_cast<unsigned long long>(it->second.*rc.count));
  }

  family("ojh_map_entries", "gauge", "Entries in a shared BPF map.");
  for (const auto& [name, use] : maps)
    std::printf("ojh_map_entries{map=\"%s\"} %zu\n", name.c_str(), use.first);
  family("ojh_map_capacity", "gauge", "Most entries a shared BPF map can hold.");
  for (const auto& [name, use] : maps)
    std::printf("ojh_map_capacity{map=\"%s\"} %u\n", name.c_str(), use.second);
  std::printf("# EOF\n");
  return 0;
}

}  // namespace ojh
