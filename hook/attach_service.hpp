// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "hook/commands.hpp"
#include "hook/fd.hpp"
#include "hook/unix_socket.hpp"

namespace ojh {

// One connection to the attach service, in a process of its own (a child of `serve`), from
// `peer` (the kernel's SO_PEERCRED, read once by `serve` when it accepted): it reads the
// request, runs the command for that user alone — create-runtime for a container verified from the
// kernel's facts, poststop, status and gc over the user's own containers — and answers with what
// the command printed and its exit status. Never returns.
[[noreturn]] void serve_connection(const Options& opts, Fd connection, const PeerCredentials& peer);

}  // namespace ojh
