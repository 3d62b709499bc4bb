// SPDX-License-Identifier: Apache-2.0
#include "hook/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "oci/error.hpp"

namespace ojh {
namespace {

sockaddr_un socket_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    throw Error("socket path \"" + path + "\" is empty or too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

void set_timeouts(int sock, int seconds) {
  const timeval tv{seconds, 0};
  if (::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
    throw Error("set socket timeouts", errno);
}

void send_all(int sock, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(sock, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("send", errno);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

Fd listen_unix(const std::string& path) {
  const sockaddr_un addr = socket_address(path);
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw Error("create a Unix socket", errno);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw Error(path + " exists and is not a socket");
    if (::unlink(path.c_str()) != 0) throw Error("remove the old socket " + path, errno);
  }
  if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
    throw Error("bind " + path, errno);
  if (::chmod(path.c_str(), 0666) != 0) throw Error("chmod " + path, errno);
  if (::listen(sock.get(), 64) != 0) throw Error("listen on " + path, errno);
  return sock;
}

Fd connect_unix(const std::string& path, int timeout_seconds) {
  const sockaddr_un addr = socket_address(path);
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw Error("create a Unix socket", errno);
  set_timeouts(sock.get(), timeout_seconds);
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
    throw Error("connect " + path, errno);
  return sock;
}

void send_message(int sock, const std::string& data, int fd_to_pass) {
  std::size_t sent = 0;
  if (fd_to_pass >= 0) {
    // Ancillary data travels with a byte of ordinary data: the first one carries it.
    char first = data.empty() ? '\n' : data[0];
    iovec iov{&first, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    ssize_t n;
    do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != 1) throw Error("send a descriptor", n < 0 ? errno : EIO);
    sent = data.empty() ? 0 : 1;
  }
  send_all(sock, data.data() + sent, data.size() - sent);
  if (::shutdown(sock, SHUT_WR) != 0) throw Error("shut down the sending side", errno);
}

ReceivedMessage receive_message(int sock, std::size_t max_bytes, const std::string& what) {
  ReceivedMessage out;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    // Room for more descriptors than we accept, so that extra ones arrive (and are closed)
    // instead of being dropped unseen.
    alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error("read " + what, errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno);
    bool refused = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (out.passed) {
          ::close(fd);
          refused = true;
        } else {
          out.passed.reset(fd);
        }
      }
    }
    if (refused) throw Error(what + ": more than one descriptor passed");
    if (n == 0) return out;
    if (out.data.size() + static_cast<std::size_t>(n) > max_bytes)
      throw Error(what + " larger than " + std::to_string(max_bytes) + " bytes");
    out.data.append(buf.data(), static_cast<std::size_t>(n));
  }
}

PeerCredentials peer_credentials(int sock) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    throw Error("read the peer's credentials", errno);
  return {cred.pid, cred.uid, cred.gid};
}

}  // namespace ojh
