// SPDX-License-Identifier: Apache-2.0
#include "tests/bpf/probes.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "oci/error.hpp"

namespace ojh::test {
namespace {

bool parse(const char* addr, int port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof(ss));
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    len = sizeof(*sin);
    return true;
  }
  if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    len = sizeof(*sin6);
    return true;
  }
  return false;
}

int probe(const char* addr, int port, int type, bool connect_first) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse(addr, port, ss, len)) return EINVAL;
  Fd s(::socket(ss.ss_family, type | SOCK_CLOEXEC, 0));
  if (!s) return errno;
  if (connect_first && ::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return errno;
  const char payload[] = "probe\n";
  const ssize_t n = connect_first ? ::send(s.get(), payload, sizeof(payload) - 1, MSG_NOSIGNAL)
                                  : ::sendto(s.get(), payload, sizeof(payload) - 1, MSG_NOSIGNAL,
                                             reinterpret_cast<sockaddr*>(&ss), len);
  return n < 0 ? errno : 0;
}

}  // namespace

int tcp_connect(const char* addr, int port) { return probe(addr, port, SOCK_STREAM, true); }
int udp_connect_send(const char* addr, int port) { return probe(addr, port, SOCK_DGRAM, true); }
int udp_sendto(const char* addr, int port) { return probe(addr, port, SOCK_DGRAM, false); }

int tcp_connect_within(const char* addr, int port, int timeout_ms) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse(addr, port, ss, len)) return EINVAL;
  Fd s(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return errno;
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd p{s.get(), POLLOUT, 0};
  const int ready = ::poll(&p, 1, timeout_ms);
  if (ready < 0) return errno;
  if (ready == 0) return ETIMEDOUT;
  int err = 0;
  socklen_t err_len = sizeof(err);
  if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) return errno;
  return err;
}

Listener Listener::open(const char* addr) {
  Listener l;
  sockaddr_storage ss;
  socklen_t len;
  if (!parse(addr, 0, ss, len)) throw Error(std::string("bad listener address ") + addr);
  l.v6 = ss.ss_family == AF_INET6;
  l.tcp = Fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::bind(l.tcp.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(l.tcp.get(), 64) != 0)
    throw Error(std::string("listen on ") + addr, errno);
  ::getsockname(l.tcp.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  l.port = ntohs(l.v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                      : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  l.udp = Fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (::bind(l.udp.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    throw Error(std::string("bind udp to ") + addr, errno);
  return l;
}

bool Listener::udp_received() {
  bool any = false;
  char buf[64];
  pollfd p{udp.get(), POLLIN, 0};
  while (::poll(&p, 1, 200) > 0 && ::recv(udp.get(), buf, sizeof(buf), 0) >= 0) {
    any = true;
    p.revents = 0;
  }
  return any;
}

bool Listener::tcp_accepted() {
  bool any = false;
  pollfd p{tcp.get(), POLLIN, 0};
  while (::poll(&p, 1, 200) > 0) {
    Fd conn(::accept4(tcp.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) break;
    any = true;
    p.revents = 0;
  }
  return any;
}

int raw_udp_sendto(const char* addr, int port) {
  sockaddr_storage ss;
  socklen_t len;
  // Raw sockets take the port from the header built below; IPv6 wants 0 in the address.
  if (!parse(addr, 0, ss, len)) return EINVAL;
  Fd s(::socket(ss.ss_family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!s) return errno;
  struct {
    std::uint16_t sport, dport, len, check;
    char payload[6];
  } dgram{htons(40000),
          htons(static_cast<std::uint16_t>(port)),
          htons(14),
          0,
          {'p', 'r', 'o', 'b', 'e', '\n'}};
  // IPv4 accepts a zero UDP checksum; for IPv6 the kernel fills it in on raw sockets when
  // IPV6_CHECKSUM names its offset.
  if (ss.ss_family == AF_INET6) {
    int offset = 6;
    ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof(offset));
  }
  if (::sendto(s.get(), &dgram, sizeof(dgram), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0)
    return errno;
  return 0;
}

}  // namespace ojh::test
