// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "hook/fd.hpp"
#include "hook/pin_dir.hpp"

namespace ojh {

// The running `watch` holds an exclusive lock on <pin-dir>/v1/watch, so that status can tell
// whether the host-address rules follow the host, and a second watcher refuses to start.
// Returns the held lock; throws when another watcher holds it.
Fd claim_address_watch(const PinDir& pins);

// Whether a watcher holds the lock right now.
bool address_watch_running(const PinDir& pins);

}  // namespace ojh
