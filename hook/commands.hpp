// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "oci/admin_config.hpp"
#include "oci/state.hpp"

namespace ojh {

struct Options {
  std::string pin_dir = "/sys/fs/bpf/oci-jail-hook";
  AdminConfig admin;  // the admin's config file; --pin-dir on the command line wins
  bool verbose = false;
  bool json = false;
  bool timing = false;
  bool show_capabilities = false;
  // The attach service's socket: where `serve` listens (without systemd's) and where a
  // rootless hook, status or gc sends its request.
  std::string attach_socket = "/run/oci-jail-hook/attach.sock";
  // Not root of the host (a rootless runtime's user namespace, or a user's shell): every
  // command that needs the kernel goes through the attach service.
  bool rootless = false;
  // events: stream new records until interrupted; only this container id ("" all); send
  // each to the journal (syslog without one) instead of stdout; at most this many lines per
  // container per second (0: no limit), the rest counted in one line.
  bool follow = false;
  std::string container;
  bool journal = false;
  unsigned max_per_second = 0;
};

// Each returns the process exit status and throws ojh::Error for the one-line failure.
// `container_id` is filled in as soon as it is known so the failure line can name it.
int run_create_runtime(const Options& opts, std::string& container_id);
int run_poststop(const Options& opts, std::string& container_id);
// `owner`: only that user's containers (the attach service answering a user); else all.
int run_status(const Options& opts, std::optional<uid_t> owner = std::nullopt);
int run_refresh(const Options& opts);
int run_gc(const Options& opts, std::optional<uid_t> owner = std::nullopt);
int run_watch(const Options& opts);  // returns only by throwing
// `owner`: only that user's containers (the attach service answering a user); else all.
int run_events(const Options& opts, std::optional<uid_t> owner = std::nullopt);
int run_metrics(const Options& opts);
int run_advise(const Options& opts);
int run_serve(const Options& opts);  // returns only by throwing

// poststop for a state already read, releasing only what `owner` enforced (0: root).
int poststop_for(const Options& opts, const State& state, uid_t owner);

}  // namespace ojh
