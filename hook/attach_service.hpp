// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "hook/commands.hpp"
#include "hook/fd.hpp"

namespace ojh {

// One connection to the attach service, in a process of its own (a child of `serve`): it
// identifies the peer (SO_PEERCRED), reads its request, runs the command for that user
// alone — create-runtime for a container verified from the kernel's facts, poststop, status
// and gc over the user's own containers — and answers with what the command printed and
// its exit status. Never returns.
[[noreturn]] void serve_connection(const Options& opts, Fd connection);

}  // namespace ojh
