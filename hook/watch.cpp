// SPDX-License-Identifier: Apache-2.0
// `watch`: keeps the host-address rules of every enforced container equal to the host's
// addresses. It subscribes to the kernel's address notifications and, after each burst of
// them, runs `refresh` in a child process: the child drops every capability when it is done,
// the watcher keeps only CAP_BPF and CAP_NET_ADMIN for the next one.
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>

#include "hook/address_watch.hpp"
#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/logging.hpp"
#include "hook/pin_dir.hpp"
#include "hook/systemd.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

Fd subscribe_to_address_changes() {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (!fd) throw Error("open an rtnetlink socket", errno);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0)
    throw Error("subscribe to address changes", errno);
  return fd;
}

// Reads every queued notification. An overrun (ENOBUFS) lost some: that is a change too.
bool drain(int fd) {
  std::array<char, 16384> buf;
  bool changed = false;
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      changed = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {
      changed = true;
      continue;
    }
    if (n < 0 && errno != EAGAIN) throw Error("read address changes", errno);
    return changed;
  }
}

void refresh_in_child(const Options& opts) {
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("fork a refresh", errno);
  if (pid == 0) {
    int rc = 1;
    try {
      // Its one line of output is for people who run `refresh` by hand.
      const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0) ::dup2(null, STDOUT_FILENO);
      rc = run_refresh(opts);
    } catch (const Error& e) {
      log_error("", std::string("watch: ") + e.what());
    }
    ::_exit(rc);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error("wait for a refresh", errno);
  // A failed refresh is reported by the child and retried at the next change: the watcher
  // itself stays, so that one bad moment does not stop every later update.
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    log_error("", "watch: a refresh failed; host-address rules may be stale until the next one");
}

}  // namespace

int run_watch(const Options& opts) {
  restrict_capabilities(CapabilitySet::kAttach);
  const PinDir pins = PinDir::open(opts.pin_dir);  // may mount bpffs: CAP_SYS_ADMIN
  restrict_capabilities(CapabilitySet::kAttachMounted);
  const Fd claim = claim_address_watch(pins);
  const Fd changes = subscribe_to_address_changes();
  // Whatever changed before the subscription.
  refresh_in_child(opts);
  notify_systemd_ready();
  log_info("", "watch: following host address changes");
  for (;;) {
    pollfd p{changes.get(), POLLIN, 0};
    if (::poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      throw Error("wait for address changes", errno);
    }
    if (drain(changes.get())) refresh_in_child(opts);
  }
}

}  // namespace ojh
