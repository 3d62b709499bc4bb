// SPDX-License-Identifier: Apache-2.0
#include "hook/attach_service.hpp"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "hook/capabilities.hpp"
#include "hook/create_runtime.hpp"
#include "hook/file.hpp"
#include "hook/logging.hpp"
#include "hook/rootless_container.hpp"
#include "hook/unix_socket.hpp"
#include "oci/admin_policy.hpp"
#include "oci/attach_request.hpp"
#include "oci/error.hpp"
#include "oci/state.hpp"

namespace ojh {
namespace {

// How long a client may take to send its request: a connection that sends nothing must not
// hold one of the service's few processes.
constexpr int kRequestTimeoutSeconds = 10;

int create_runtime(const Options& opts, uid_t uid, const AttachRequest& request, const Fd& pidfd,
                   std::string& container_id) {
  const State state = parse_state(request.state);
  container_id = state.id;
  // The admin config the service loaded (root's, verified) decides, not the client's copy.
  if (!enforcement_requested(state.annotations, opts.admin)) {
    log_info(container_id, "jail.block-host is not \"true\": nothing to enforce");
    return 0;
  }
  if (!pidfd) throw Error("the request carries no pidfd of the container's process");
  const RootlessContainer container = verify_rootless_container(uid, pidfd.get());
  // config.json and resolv.conf are read only if the user owns them (the runtime wrote
  // them as that user): root reads nothing on a user's say-so.
  return create_runtime_for(opts, {state, container.pid, container.cgroup, uid});
}

int run(const Options& opts, uid_t uid, const AttachRequest& request, const Fd& pidfd,
        std::string& container_id) {
  switch (request.command) {
    case AttachCommand::CreateRuntime:
      return create_runtime(opts, uid, request, pidfd, container_id);
    case AttachCommand::Poststop: {
      const State state = parse_state(request.state);
      container_id = state.id;
      return poststop_for(opts, state, uid);
    }
    case AttachCommand::Status: {
      Options status_opts = opts;
      status_opts.json = request.json;
      return run_status(status_opts, uid);
    }
    case AttachCommand::Gc:
      return run_gc(opts, uid);
    case AttachCommand::Events: {
      // The retained records of the user's own containers; never --follow (a service
      // process per connection must end).
      Options events_opts = opts;
      events_opts.json = request.json;
      events_opts.container = request.container;
      events_opts.follow = false;
      events_opts.journal = false;
      return run_events(events_opts, uid);
    }
  }
  throw Error("unknown command");
}

// stdout or stderr, captured for the reply.
class Capture {
 public:
  Capture(int target, const char* name)
      : target_(target), file_(::memfd_create(name, MFD_CLOEXEC)) {
    if (!file_ || ::dup2(file_.get(), target_) < 0)
      throw Error("capture " + std::string(name), errno);
  }
  std::string text() const {
    std::fflush(target_ == STDOUT_FILENO ? stdout : stderr);
    if (::lseek(file_.get(), 0, SEEK_SET) != 0) return {};
    return read_fd_bounded(file_.get(), kMaxAttachReplyBytes / 2, "captured output");
  }

 private:
  int target_;
  Fd file_;
};

}  // namespace

void serve_connection(const Options& opts, Fd connection, const PeerCredentials& peer) {
  // The client's output must not reach the service's log, nor the reverse.
  const Capture out(STDOUT_FILENO, "stdout");
  const Capture err(STDERR_FILENO, "stderr");
  AttachReply reply;
  std::string container_id;
  try {
    const timeval tv{kRequestTimeoutSeconds, 0};
    if (::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
      throw Error("set the request timeout", errno);
    ReceivedMessage message =
        receive_message(connection.get(), kMaxAttachRequestBytes, "attach request");
    const AttachRequest request = parse_attach_request(message.data);
    if (peer.uid == 0)
      throw Error("root runs oci-jail-hook itself; the attach service acts for other users");
    log_info("", "attach service: " + std::string(attach_command_name(request.command)) +
                     " for uid " + std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) +
                     ")");
    reply.status = run(opts, peer.uid, request, message.passed, container_id);
  } catch (const Error& e) {
    log_error(container_id, e.what());
    reply.status = 1;
  } catch (const std::exception& e) {
    log_error(container_id, std::string("unexpected error: ") + e.what());
    reply.status = 1;
  }
  int rc = 0;
  try {
    reply.out = out.text();
    reply.err = err.text();
    send_message(connection.get(), format_attach_reply(reply));
  } catch (const Error& e) {
    // The client is gone or stuck; only the service's log can say so.
    log_error(container_id, std::string("attach service: replying to the client: ") + e.what());
    rc = 1;
  }
  ::_exit(rc);
}

}  // namespace ojh
