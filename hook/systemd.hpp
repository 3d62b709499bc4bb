// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hook/fd.hpp"

namespace ojh {

// systemd's protocols through libsystemd, which is opened when first needed and never
// linked: create-runtime, the hot path, must not pay for loading it.

// Tells systemd (Type=notify) that the service is ready; nothing without NOTIFY_SOCKET.
void notify_systemd_ready();

// The one socket systemd passed (socket activation, LISTEN_FDS); nullopt when the process
// was not socket-activated. More than one is an ojh::Error.
std::optional<Fd> socket_from_systemd();

// Sends one structured entry to the journal (sd_journal_sendv), each field "NAME=value".
// false when libsystemd cannot be loaded or the journal refuses: the caller falls back to
// syslog. Never called on the createRuntime path.
bool journal_send(const std::vector<std::string>& fields);

}  // namespace ojh
