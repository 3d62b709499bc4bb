// SPDX-License-Identifier: Apache-2.0
#include "hook/event_format.hpp"

#include <arpa/inet.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>

#include "hook/denial_reason.hpp"
#include "hook/shared_objects.hpp"

namespace ojh {

const char* protocol_name_of(unsigned protocol, std::string& scratch) {
  switch (protocol) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 58:
      return "icmpv6";
    case 132:
      return "sctp";
    case 136:
      return "udplite";
    case 255:
      return "raw";
    default:
      scratch = "ip-" + std::to_string(protocol);
      return scratch.c_str();
  }
}

const char* socket_family_name(unsigned family, std::string& scratch) {
  switch (family) {
    case OJH_AF_UNIX:
      return "unix";
    case 17:  // AF_PACKET
      return "packet";
    case 26:  // AF_LLC
      return "llc";
    case 44:  // AF_XDP
      return "xdp";
    default:
      scratch = "af-" + std::to_string(family);
      return scratch.c_str();
  }
}

EventView view_event(const ojh_event& e, const std::string& container,
                     std::int64_t realtime_minus_boottime_ns, const std::string& comm) {
  EventView v;
  v.wall_ns = static_cast<std::int64_t>(e.time_ns) + realtime_minus_boottime_ns;
  v.container = container;
  v.cgroup_id = e.cgroup_id;
  v.audited = (e.flags & OJH_EVENT_AUDITED) != 0;
  // A program added by a later build than this reader still gets a name.
  v.operation = e.hook < kPrograms.size() ? std::string(kPrograms[e.hook].name)
                                          : "hook-" + std::to_string(e.hook);
  v.reason = verdict_reason(e.verdict);
  std::string scratch;
  v.protocol = protocol_name_of(e.protocol, scratch);
  v.ipv6 = e.family == OJH_AF_INET6;
  if (e.family == OJH_AF_INET || e.family == OJH_AF_INET6) {
    char text[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(v.ipv6 ? AF_INET6 : AF_INET, e.addr, text, sizeof(text));
    v.address = text;
  } else if (e.family != 0) {
    // A socket refused at creation (socket_create) has no destination; for one that is not
    // IP the record carries the socket's family instead, which names what was refused.
    v.protocol = socket_family_name(e.family, scratch);
  }
  v.port = ntohs(e.port_be);
  v.pid = e.pid;
  v.comm = comm;
  v.seq = e.seq;
  return v;
}

std::string rfc3339_utc(std::int64_t wall_ns) {
  const std::time_t secs = static_cast<std::time_t>(wall_ns / 1000000000);
  const long micros = static_cast<long>((wall_ns % 1000000000) / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

std::string destination_text(const EventView& v) {
  if (v.port == 0) return v.address;
  return (v.ipv6 ? "[" + v.address + "]" : v.address) + ":" + std::to_string(v.port);
}

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// One "key": value member of a record's JSON object, the writer call chosen by the value's type.
void member(JsonWriter& w, const char* key, const char* value) {
  w.Key(key);
  w.String(value);
}

void member(JsonWriter& w, const char* key, std::uint64_t value) {
  w.Key(key);
  w.Uint64(value);
}

}  // namespace

std::string event_json(const EventView& v) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  member(w, "time", rfc3339_utc(v.wall_ns).c_str());
  member(w, "container", v.container.c_str());
  member(w, "cgroup_id", v.cgroup_id);
  member(w, "verdict", v.audited ? "audited" : "denied");
  member(w, "reason", v.reason.c_str());
  member(w, "operation", v.operation.c_str());
  member(w, "protocol", v.protocol.c_str());
  member(w, "address", v.address.c_str());
  member(w, "port", v.port);
  member(w, "pid", v.pid);
  member(w, "comm", v.comm.c_str());
  member(w, "seq", v.seq);
  w.EndObject();
  return buf.GetString();
}

std::string event_line(const EventView& v) {
  const std::time_t secs = static_cast<std::time_t>(v.wall_ns / 1000000000);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char hms[16];
  std::strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
  std::string line = std::string(hms) + " " +
                     (v.container.empty() ? "cgroup:" + std::to_string(v.cgroup_id) : v.container) +
                     (v.audited ? " audited " : " denied ") + v.protocol + " " +
                     destination_text(v) + " " + v.operation;
  if (v.pid != 0) {
    line += " pid " + std::to_string(v.pid);
    if (!v.comm.empty()) line += " (" + v.comm + ")";
  }
  return line;
}

}  // namespace ojh
