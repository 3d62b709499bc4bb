// SPDX-License-Identifier: Apache-2.0
// `advise --container ID`: the smallest jail.block-host.allow that would have let through
// what the container was refused (or, in audit mode, would have been), from the records the
// programs kept for it (hook/event_records.hpp), with a warning for each entry that opens a
// service a person should think twice about.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <string>
#include <vector>

#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/enforcement.hpp"
#include "hook/event_format.hpp"
#include "hook/event_records.hpp"
#include "hook/pin_dir.hpp"
#include "hook/policy_advice.hpp"
#include "hook/shared_objects.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

void print_json(const std::string& container, std::size_t records, const PolicyAdvice& a) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("container");
  w.String(container.c_str());
  w.Key("records");
  w.Uint64(records);
  w.Key("annotation");
  w.String(a.annotation.c_str());
  w.Key("too_many");
  w.Bool(a.too_many);
  w.Key("entries");
  w.StartArray();
  for (const AdviceEntry& e : a.entries) {
    w.StartObject();
    w.Key("entry");
    w.String(e.entry.c_str());
    w.Key("records");
    w.Uint64(e.count);
    w.Key("warning");
    if (e.warning.empty())
      w.Null();
    else
      w.String(e.warning.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.Key("not_allowable");
  w.StartArray();
  for (const std::string& s : a.not_allowable) w.String(s.c_str());
  w.EndArray();
  w.EndObject();
  std::printf("%s\n", buf.GetString());
}

void print_text(const std::string& container, std::size_t records, const PolicyAdvice& a) {
  if (records == 0) {
    std::printf("%s: no denial recorded: nothing to allow\n", container.c_str());
    return;
  }
  if (!a.annotation.empty()) std::printf("%s\n", a.annotation.c_str());
  for (const AdviceEntry& e : a.entries)
    if (!e.warning.empty()) std::printf("warning: %s %s\n", e.entry.c_str(), e.warning.c_str());
  if (a.too_many)
    std::printf("warning: %zu entries, more than one annotation may hold (%zu)\n", a.entries.size(),
                kMaxExceptions);
  for (const std::string& s : a.not_allowable)
    std::printf("not allowable by annotation (TCP and UDP ports only): %s\n", s.c_str());
}

}  // namespace

int run_advise(const Options& opts) {
  if (opts.container.empty()) throw Error("advise needs --container ID");
  if (opts.rootless)
    throw Error(
        "advise reads the kernel's records and needs root; as a user, `oci-jail-hook "
        "events --container " +
        opts.container + "` shows your container's denials");
  restrict_capabilities(CapabilitySet::kAttachMounted);
  const auto pins = PinDir::open_existing(opts.pin_dir);
  SharedObjects objs;
  if (!pins || !SharedObjects::open_existing(*pins, objs))
    throw Error("no enforced container " + opts.container);
  std::vector<EventView> records;
  bool found = false;
  for (const auto& [cgroup_id, id] : enforced_container_ids(*pins)) {
    if (id != opts.container) continue;
    found = true;
    for (const ojh_event& e : retained_events(objs, cgroup_id))
      records.push_back(view_event(e, id, 0, ""));
  }
  restrict_capabilities(CapabilitySet::kNone);
  if (!found) throw Error("no enforced container " + opts.container);
  const PolicyAdvice advice = advise_allow(records);
  if (opts.json)
    print_json(opts.container, records.size(), advice);
  else
    print_text(opts.container, records.size(), advice);
  return 0;
}

}  // namespace ojh
