// SPDX-License-Identifier: Apache-2.0
// `serve`: the attach service. Rootless runtimes run their hooks in a user namespace, where
// nothing can attach cgroup BPF; their hooks send the container to this service, which runs
// as root of the host. Each connection is served by a process of its own (hook/
// attach_service.cpp), so that one request's failure, capabilities or output never touch
// another's; this process only accepts and reaps.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <string>

#include "hook/attach_service.hpp"
#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/logging.hpp"
#include "hook/shared_objects.hpp"
#include "hook/systemd.hpp"
#include "hook/unix_socket.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

// Requests served at once, in all and per user: a user who opens connections and sends
// nothing holds at most kPerUser processes for kRequestTimeoutSeconds each, and cannot
// stall other users' containers.
constexpr std::size_t kMaxConnections = 64;
constexpr std::size_t kMaxConnectionsPerUser = 8;
// A request that has not been answered by then is killed (SIGALRM): its client fails.
constexpr unsigned kConnectionSeconds = 90;

Fd listening_socket(const Options& opts) {
  if (auto fd = socket_from_systemd()) return std::move(*fd);
  // Without systemd: the socket's directory as the socket unit would make it.
  const std::string dir = opts.attach_socket.substr(0, opts.attach_socket.rfind('/'));
  if (!dir.empty() && ::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw Error("create " + dir, errno);
  return listen_unix(opts.attach_socket);
}

class Children {
 public:
  void reap(bool block) {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, block ? 0 : WNOHANG);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) return;
      if (WIFSIGNALED(status))
        log_error("", "attach service: a request for uid " + std::to_string(uid_[pid]) +
                          " was killed (signal " + std::to_string(WTERMSIG(status)) + ")");
      uid_.erase(pid);
      block = false;
    }
  }
  std::size_t count() const { return uid_.size(); }
  std::size_t count(uid_t uid) const {
    std::size_t n = 0;
    for (const auto& [pid, u] : uid_) n += u == uid;
    return n;
  }
  void add(pid_t pid, uid_t uid) { uid_[pid] = uid; }

 private:
  std::map<pid_t, uid_t> uid_;
};

}  // namespace

int run_serve(const Options& opts) {
  // Each connection's process narrows further for its command; this one never reads a
  // request, and keeps only what those processes need.
  keep_read_search_for_users_files();
  // A connection's process may be the first to load the shared objects (hook/capabilities.hpp).
  if (kernel_meets_any_optional_need()) keep_perfmon_for_optional_programs();
  restrict_capabilities(CapabilitySet::kAttach);
  const Fd listener = listening_socket(opts);
  std::signal(SIGPIPE, SIG_IGN);
  notify_systemd_ready();
  log_info("", "serve: attach service for rootless containers listening");
  Children children;
  for (;;) {
    children.reap(children.count() >= kMaxConnections);
    pollfd p{listener.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) < 0 && errno != EINTR) throw Error("wait for connections", errno);
    if (!(p.revents & POLLIN)) continue;
    Fd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        log_error("", "attach service: accept: " + std::string(std::strerror(errno)));
        ::sleep(1);
        continue;
      }
      throw Error("accept a connection", errno);
    }
    PeerCredentials peer;
    try {
      peer = peer_credentials(connection.get());
    } catch (const Error&) {
      continue;  // gone already
    }
    const uid_t uid = peer.uid;
    if (children.count(uid) >= kMaxConnectionsPerUser) {
      // syslog only: a user's flood must not write two lines (stderr is the journal too).
      log_info("", "attach service: uid " + std::to_string(uid) + " has " +
                       std::to_string(kMaxConnectionsPerUser) +
                       " requests in progress; closing another");
      continue;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      log_error("", "attach service: fork: " + std::string(std::strerror(errno)));
      continue;
    }
    if (pid == 0) {
      std::signal(SIGPIPE, SIG_DFL);
      ::alarm(kConnectionSeconds);
      // The listening socket belongs to the service alone.
      ::close(listener.get());
      serve_connection(opts, std::move(connection), peer);
    }
    children.add(pid, uid);
  }
}

}  // namespace ojh
