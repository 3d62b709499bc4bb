// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "hook/fd.hpp"

namespace ojh {

// The Unix stream sockets between a rootless hook and the attach service: one request and
// one reply per connection, each ended by the writer's shutdown or close.

// A listening socket at `path`, reachable by every local user (mode 0666): whom to serve
// is decided per request from the peer's credentials. A stale socket file is replaced; any
// other file at `path` is an error.
Fd listen_unix(const std::string& path);

// Connected to `path`, with `timeout_seconds` for every later send and receive.
// Throws ojh::Error carrying connect()'s errno.
Fd connect_unix(const std::string& path, int timeout_seconds);

// Sends all of `data` (with `fd_to_pass` in an SCM_RIGHTS message along with its first
// byte, when it is >= 0), then shuts down the writing side.
void send_message(int sock, const std::string& data, int fd_to_pass = -1);

struct ReceivedMessage {
  std::string data;
  Fd passed;  // the descriptor sent along, if any
};

// Reads to EOF, at most `max_bytes`, accepting at most one descriptor (more, or a
// truncated control message, is an ojh::Error: they are closed, never used).
ReceivedMessage receive_message(int sock, std::size_t max_bytes, const std::string& what);

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// SO_PEERCRED: the kernel's record of who connected, translated into our user namespace.
PeerCredentials peer_credentials(int sock);

}  // namespace ojh
