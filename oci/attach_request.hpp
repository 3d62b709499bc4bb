// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "oci/state.hpp"

namespace ojh {

// What a hook that runs for a rootless user (inside a user namespace, or as a user other
// than root) asks the attach service (`oci-jail-hook serve`) to do on its behalf. It is one
// JSON object on a Unix stream socket, ended by the client's shutdown(SHUT_WR):
//   {"version": 1, "command": "create-runtime", "state": "<the runtime's state JSON>"}
// and, for create-runtime, a pidfd of the container's process in an SCM_RIGHTS message.
// The service answers with one JSON object and closes the connection:
//   {"status": 0, "stdout": "...", "stderr": "..."}
// what the command would have exited with and printed, had it run in the client.
enum class AttachCommand { CreateRuntime, Poststop, Status, Gc, Events };

struct AttachRequest {
  AttachCommand command = AttachCommand::Status;
  std::string state;        // create-runtime, poststop: the state JSON as the runtime wrote it
  bool json = false;        // status --json, events --json
  std::string container{};  // events --container: only this id ("" all of the user's)
};

struct AttachReply {
  int status = 1;
  std::string out;
  std::string err;
};

inline constexpr int kAttachProtocolVersion = 1;
// A state of the largest size the hook accepts, escaped, and room for the envelope.
inline constexpr std::size_t kMaxAttachRequestBytes = 2 * kMaxStateBytes + 4096;
// status --json of every container one user may hold, with room to spare.
inline constexpr std::size_t kMaxAttachReplyBytes = 32 * 1024 * 1024;

const char* attach_command_name(AttachCommand command);

std::string format_attach_request(const AttachRequest& request);
// Strict: unknown or duplicate keys, another version, a state where none belongs (or none
// where one must) are an ojh::Error ("attach request: ..."). The state itself is not parsed
// here: the service parses it with parse_state, as the hook does.
AttachRequest parse_attach_request(std::string_view text);

std::string format_attach_reply(const AttachReply& reply);
AttachReply parse_attach_reply(std::string_view text);

}  // namespace ojh
