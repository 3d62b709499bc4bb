// SPDX-License-Identifier: Apache-2.0
// `events`: the denials the programs recorded (bpf/block_host_events.h). Without --follow it
// prints each enforced container's retained records and exits; with --follow it streams new
// ones until interrupted. One follower consumes the shared ring buffer (a BPF ring buffer
// has one consumer position: two readers would each see part of it); it holds a lock on
// <pin-dir>/v1/events-follow. Any other follower reads the containers' retained records
// every 100 ms instead, which sees the same records a moment later.
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/file.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/block_host_events.h"
#include "hook/attach_client.hpp"
#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/enforcement.hpp"
#include "hook/event_format.hpp"
#include "hook/event_records.hpp"
#include "hook/file.hpp"
#include "hook/logging.hpp"
#include "hook/pin_dir.hpp"
#include "hook/shared_objects.hpp"
#include "hook/systemd.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

constexpr int kPollMs = 100;

std::int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Records carry CLOCK_BOOTTIME; today's offset places them on the wall clock.
std::int64_t realtime_minus_boottime() {
  return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
}

// The kernel cannot give the comm without CAP_PERFMON: it is read here, when the record is
// read. A process that has exited since (or a pid reused by another) is the limit of that:
// "" when /proc has no such pid.
std::string comm_of(std::uint32_t pid) {
  if (pid == 0) return "";
  try {
    std::string comm = read_file_bounded("/proc/" + std::to_string(pid) + "/comm", 64);
    while (!comm.empty() && (comm.back() == '\n' || comm.back() == '\0')) comm.pop_back();
    return comm;
  } catch (const Error&) {
    return "";
  }
}

// Which container a cgroup id is, from the entries of the pin directory.
class ContainerNames {
 public:
  ContainerNames(const PinDir& pins, std::optional<uid_t> owner, std::string only)
      : pins_(pins), owner_(owner), only_(std::move(only)) {}

  void reload() {
    ids_ = enforced_container_ids(pins_, owner_);
    if (!only_.empty())
      std::erase_if(ids_, [&](const auto& entry) { return entry.second != only_; });
    loaded_at_ = clock_ns(CLOCK_MONOTONIC);
  }

  // nullopt: not a container this reader may show. An unknown cgroup id reloads the
  // entries (a container that started since), at most every 100 ms.
  std::optional<std::string> name(std::uint64_t cgroup_id) {
    auto it = ids_.find(cgroup_id);
    if (it == ids_.end() && clock_ns(CLOCK_MONOTONIC) - loaded_at_ > kPollMs * 1000000LL) {
      reload();
      it = ids_.find(cgroup_id);
    }
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }

  const std::map<std::uint64_t, std::string>& all() const { return ids_; }

 private:
  const PinDir& pins_;
  std::optional<uid_t> owner_;
  std::string only_;
  std::map<std::uint64_t, std::string> ids_;
  std::int64_t loaded_at_ = 0;
};

// Writes records to stdout (text or JSON lines) or to the journal, at most
// opts.max_per_second per container per second; what the limit holds back is counted in one
// line when the next second starts.
class Printer {
 public:
  explicit Printer(const Options& opts) : opts_(opts) {
    if (opts_.journal) ::openlog("oci-jail-hook", LOG_PID, LOG_DAEMON);
  }

  void print(const ojh_event& e, const std::string& container) {
    if (!admit(e.cgroup_id, container)) return;
    const EventView v = view_event(e, container, realtime_minus_boottime(), comm_of(e.pid));
    if (opts_.journal) {
      to_journal(v);
    } else {
      const std::string line = opts_.json ? event_json(v) : event_line(v);
      std::fputs((line + "\n").c_str(), stdout);
      std::fflush(stdout);
    }
  }

  // Reports what the limit held back in a second that has ended.
  void flush_suppressed() {
    const std::int64_t now = clock_ns(CLOCK_MONOTONIC) / 1000000000;
    for (auto& [cgroup, w] : windows_) {
      if (w.second == now || w.suppressed == 0) continue;
      note(w.container + ": " + std::to_string(w.suppressed) +
           " more denial record(s) not logged (at most " + std::to_string(opts_.max_per_second) +
           " per container per second)");
      w.suppressed = 0;
    }
  }

 private:
  struct Window {
    std::int64_t second = 0;
    unsigned printed = 0;
    std::uint64_t suppressed = 0;
    std::string container;
  };

  bool admit(std::uint64_t cgroup, const std::string& container) {
    if (opts_.max_per_second == 0) return true;
    flush_suppressed();
    Window& w = windows_[cgroup];
    w.container = container;
    const std::int64_t now = clock_ns(CLOCK_MONOTONIC) / 1000000000;
    if (w.second != now) {
      w.second = now;
      w.printed = 0;
    }
    if (w.printed >= opts_.max_per_second) {
      ++w.suppressed;
      return false;
    }
    ++w.printed;
    return true;
  }

  void note(const std::string& message) {
    if (opts_.journal) {
      if (!journal_send({"MESSAGE=" + message, "PRIORITY=4", "SYSLOG_IDENTIFIER=oci-jail-hook"}))
        ::syslog(LOG_WARNING, "%s", message.c_str());
    } else if (!opts_.json) {
      std::fputs((message + "\n").c_str(), stdout);
      std::fflush(stdout);
    }
  }

  void to_journal(const EventView& v) {
    // The journal keeps the time; the message is the line without it.
    std::string message = event_line(v);
    message = message.substr(message.find(' ') + 1);
    const bool sent = journal_send({
        "MESSAGE=" + message,
        "PRIORITY=4",  // warning: something was refused
        "SYSLOG_IDENTIFIER=oci-jail-hook",
        "CONTAINER_ID=" + v.container,
        "CGROUP_ID=" + std::to_string(v.cgroup_id),
        std::string("VERDICT=") + (v.audited ? "audited" : "denied"),
        "REASON=" + v.reason,
        "OPERATION=" + v.operation,
        "PROTOCOL=" + v.protocol,
        "DEST=" + destination_text(v),
        "DEST_ADDRESS=" + v.address,
        "DEST_PORT=" + std::to_string(v.port),
        "CALLER_PID=" + std::to_string(v.pid),
        "CALLER_COMM=" + v.comm,
    });
    if (!sent) ::syslog(LOG_WARNING, "%s", message.c_str());
  }

  const Options& opts_;
  std::map<std::uint64_t, Window> windows_;
};

// The ring buffer's one consumer, or an empty Fd when another follower holds it.
Fd claim_ring(const PinDir& pins) {
  const std::string path = pins.version_dir() + "/events-follow";
  make_private_dir(path);
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw Error("open " + path, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return Fd();
    throw Error("lock " + path, errno);
  }
  return fd;
}

int print_retained(const SharedObjects& objs, ContainerNames& names, Printer& printer,
                   const Options& opts) {
  names.reload();
  if (!opts.container.empty() && names.all().empty())
    throw Error("no enforced container " + opts.container);
  std::vector<std::pair<ojh_event, std::string>> all;
  for (const auto& [cgroup, id] : names.all())
    for (const ojh_event& e : retained_events(objs, cgroup)) all.emplace_back(e, id);
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first.time_ns < b.first.time_ns; });
  restrict_capabilities(CapabilitySet::kNone);
  for (const auto& [e, id] : all) printer.print(e, id);
  if (all.empty() && !opts.json && !opts.journal) std::printf("no denial recorded\n");
  return 0;
}

struct RingContext {
  ContainerNames* names;
  Printer* printer;
  std::uint64_t since_boot_ns;  // records from before the follower started are not new
};

int on_record(void* ctx, void* data, size_t size) {
  auto* c = static_cast<RingContext*>(ctx);
  if (size < sizeof(ojh_event)) return 0;
  ojh_event e{};
  std::memcpy(&e, data, sizeof(e));
  if (e.time_ns < c->since_boot_ns) return 0;
  if (const auto name = c->names->name(e.cgroup_id)) c->printer->print(e, *name);
  return 0;
}

struct RingDeleter {
  void operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
};

// Follows until the objects are replaced (an upgrade) and returns to reopen them.
void follow_objects(const PinDir& pins, const SharedObjects& objs, ContainerNames& names,
                    Printer& printer, bool own_ring, std::uint64_t since_boot_ns) {
  const std::optional<std::string> build = pinned_objects_build(pins);
  names.reload();
  std::int64_t checked = clock_ns(CLOCK_MONOTONIC);
  const auto replaced = [&] {
    const std::int64_t now = clock_ns(CLOCK_MONOTONIC);
    if (now - checked < 2000000000LL) return false;
    checked = now;
    return pinned_objects_build(pins) != build;
  };
  if (own_ring) {
    RingContext ctx{&names, &printer, since_boot_ns};
    std::unique_ptr<ring_buffer, RingDeleter> rb(
        ring_buffer__new(objs.events.get(), on_record, &ctx, nullptr));
    if (!rb) throw Error("open the denial ring buffer", errno);
    for (;;) {
      const int n = ring_buffer__poll(rb.get(), 1000);
      if (n < 0 && n != -EINTR) throw Error("read the denial ring buffer", -n);
      printer.flush_suppressed();
      if (replaced()) return;
    }
  }
  // Not the ring's consumer: the retained records, by sequence number.
  std::map<std::uint64_t, std::uint64_t> seen;  // cgroup id -> next seq to print
  const auto sync = [&](bool initial) {
    for (const auto& [cgroup, id] : names.all()) {
      const auto state = event_state(objs, cgroup);
      const std::uint64_t seq = state ? state->seq : 0;
      auto [it, fresh] = seen.emplace(cgroup, initial ? seq : 0);
      if (it->second >= seq) continue;
      for (const ojh_event& e : retained_events(objs, cgroup))
        if (e.seq >= it->second) printer.print(e, id);
      it->second = seq;
    }
  };
  sync(true);
  std::int64_t reloaded = clock_ns(CLOCK_MONOTONIC);
  for (;;) {
    ::usleep(kPollMs * 1000);
    if (clock_ns(CLOCK_MONOTONIC) - reloaded > 1000000000LL) {
      names.reload();
      reloaded = clock_ns(CLOCK_MONOTONIC);
    }
    sync(false);
    printer.flush_suppressed();
    if (replaced()) return;
  }
}

[[noreturn]] void follow(const Options& opts, std::optional<uid_t> owner) {
  restrict_capabilities(CapabilitySet::kAttachMounted);
  Printer printer(opts);
  const std::uint64_t since = static_cast<std::uint64_t>(clock_ns(CLOCK_BOOTTIME));
  // Ready now: a host may run no container for a long time, and records that come before
  // the objects exist cannot be missed (there are none).
  notify_systemd_ready();
  bool told = false;
  for (;;) {
    // The service may start before any container: wait for the objects.
    const auto pins = PinDir::open_existing(opts.pin_dir);
    SharedObjects objs;
    if (!pins || !SharedObjects::open_existing(*pins, objs) || !objs.events) {
      if (!told && pins && objs.programs[0])
        log_info("",
                 "events: the pinned BPF objects predate denial records; waiting for "
                 "the next container start to replace them");
      told = told || (pins && objs.programs[0]);
      ::sleep(1);
      continue;
    }
    const Fd ring_lock = claim_ring(*pins);
    ContainerNames names(*pins, owner, opts.container);
    follow_objects(*pins, objs, names, printer, static_cast<bool>(ring_lock), since);
  }
}

}  // namespace

int run_events(const Options& opts, std::optional<uid_t> owner) {
  if (opts.rootless) {
    if (opts.follow || opts.journal)
      throw Error(
          "events --follow reads every container's records and needs root; as a user, run "
          "`oci-jail-hook events` (your containers' last denials) or `journalctl -u "
          "oci-jail-hook-events`");
    AttachRequest request{AttachCommand::Events, ""};
    request.json = opts.json;
    request.container = opts.container;
    return run_through_attach_service(opts, request);
  }
  if (opts.follow) follow(opts, owner);
  restrict_capabilities(CapabilitySet::kAttachMounted);
  Printer printer(opts);
  const auto pins = PinDir::open_existing(opts.pin_dir);
  SharedObjects objs;
  if (!pins || !SharedObjects::open_existing(*pins, objs)) {
    if (!opts.container.empty()) throw Error("no enforced container " + opts.container);
    restrict_capabilities(CapabilitySet::kNone);
    if (!opts.json) std::printf("no denial recorded\n");
    return 0;
  }
  ContainerNames names(*pins, owner, opts.container);
  return print_retained(objs, names, printer, opts);
}

}  // namespace ojh
