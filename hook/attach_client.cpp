// SPDX-License-Identifier: Apache-2.0
#include "hook/attach_client.hpp"

#include <cerrno>
#include <cstdio>
#include <string>

#include "hook/fd.hpp"
#include "hook/process.hpp"
#include "hook/unix_socket.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

// Long enough for a service that waits for the pin directory's lock behind other hooks,
// short enough that a hung service fails the container instead of hanging the runtime.
constexpr int kServiceTimeoutSeconds = 120;

Fd connect_to_service(const std::string& socket) {
  try {
    return connect_unix(socket, kServiceTimeoutSeconds);
  } catch (const Error& e) {
    const int err = e.code();
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR)
      throw Error("rootless: the attach service is not running (" + std::string(e.what()) +
                  "): an admin enables it with `systemctl enable --now oci-jail-hook.socket` "
                  "(or runs `oci-jail-hook serve`); see docs/rootless.md");
    throw Error("rootless: cannot reach the attach service (" + std::string(e.what()) + ")");
  }
}

void write_all(std::FILE* to, const std::string& text) {
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), to) != text.size())
    throw Error("write the attach service's output", errno);
  std::fflush(to);
}

}  // namespace

int run_through_attach_service(const Options& opts, const AttachRequest& request,
                               pid_t container_pid) {
  const Fd sock = connect_to_service(opts.attach_socket);
  Fd pidfd;
  if (container_pid > 0) pidfd = open_pidfd(container_pid);
  AttachReply reply;
  try {
    send_message(sock.get(), format_attach_request(request), pidfd ? pidfd.get() : -1);
    reply = parse_attach_reply(
        receive_message(sock.get(), kMaxAttachReplyBytes, "the attach service's reply").data);
  } catch (const Error& e) {
    throw Error("rootless: the attach service at " + opts.attach_socket +
                " did not complete the request: " + e.what());
  }
  write_all(stdout, reply.out);
  write_all(stderr, reply.err);
  return reply.status;
}

}  // namespace ojh
