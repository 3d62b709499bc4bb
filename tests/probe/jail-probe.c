// SPDX-License-Identifier: Apache-2.0
//
// jail-probe: the ground truth of the end-to-end tests. It runs inside the busybox
// container (built static, so the rootfs needs no libc) and on the fake host side.
//
//   jail-probe connect tcp|udp|mptcp ADDR PORT [TAG]
//   jail-probe sendto  tcp|udp ADDR PORT [TAG]   (tcp: TCP Fast Open, sendto(MSG_FASTOPEN))
//   jail-probe sendmsg udp ADDR PORT [TAG]       (sendmsg with msg_name; AF_INET6 sockets are
//                                                  explicitly dual-stack, IPV6_V6ONLY=0)
//   jail-probe sendto-v6sock udp ADDR PORT [TAG]  (an AF_INET6 UDP socket, sendto with an
//                                                  AF_INET sockaddr: the kernel's v4 path)
//   jail-probe sendto-bcast udp ADDR PORT [TAG]   (sendto with SO_BROADCAST: a broadcast ADDR)
//   jail-probe sendto-mcast IFNAME ADDR PORT [TAG] (UDP to a multicast group, or to
//                                                  255.255.255.255, out of IFNAME)
//   jail-probe udp-connect-sendto FIRST ADDR PORT [TAG]
//                                   (UDP socket connected to FIRST:PORT, then sendto ADDR)
//   jail-probe sctp ADDR PORT [TAG]               (SOCK_STREAM, IPPROTO_SCTP, like tcp)
//   jail-probe ping ADDR [TAG]                    (SOCK_RAW ICMP/ICMPv6 echo; CAP_NET_RAW)
//   jail-probe dgram-ping ADDR [TAG]              (SOCK_DGRAM ping socket, sendto; no
//                                                  capability, only net.ipv4.ping_group_range)
//   jail-probe dgram-ping-connect ADDR [TAG]      (SOCK_DGRAM ping socket, connect + send)
//   jail-probe raw-udp ADDR PORT [TAG]            (SOCK_RAW IPPROTO_UDP, hand-built UDP;
//                                                  CAP_NET_RAW)
//   jail-probe raw-udp-hdrincl ADDR PORT [TAG]    (IPPROTO_RAW: hand-built IP + UDP;
//                                                  CAP_NET_RAW)
//   jail-probe packet-udp IFNAME ADDR PORT [TAG]  (AF_PACKET: IP + UDP in a link-layer
//                                                  broadcast frame out of IFNAME;
//                                                  CAP_NET_RAW)
//   jail-probe listen  tcp|udp|sctp|icmp ADDR PORT LOGFILE
//   jail-probe unix-connect stream|dgram NAME [TAG]   (AF_UNIX connect + send; NAME "@x" is
//                                                  the abstract name "\0x", else a path)
//   jail-probe unix-sendto dgram NAME [TAG]        (AF_UNIX datagram sendto, unconnected)
//   jail-probe unix-socketpair stream|dgram [TAG]  (socketpair, send one way, read it back:
//                                                  no address is ever named)
//   jail-probe unix-listen stream|dgram NAME LOGFILE (logs "unix - 0: <payload line>")
//
// Probes print exactly one line "<verb> <args without TAG>: <result>" and exit
//   0 reached, 1 blocked (EPERM/EACCES), 2 refused, 3 timeout, 4 any other error,
//   5 unsupported (the kernel lacks the protocol), 64 usage error.
// A failed socket() is never "blocked": it prints "error <ERRNO> (socket)", or
// "unsupported <why>" when the kernel lacks the family, type or protocol.
// "reached" means: tcp/sctp/mptcp connected and the payload was delivered; ping/dgram-ping
// got an echo reply with our id and sequence within 2 s; udp/raw-udp/packet-udp sent
// without error (they get no answer: the listener's log is their ground truth).
// The payload is "probe <tag>\n" (for pings: the echo data); TAG defaults to the verb and
// its arguments, so a test can tell from the listener log which probe arrived.
//
// listen binds exactly ADDR (v6 TCP/UDP/SCTP sockets are IPV6_V6ONLY, so "::" does not take
// v4), prints "listening" once bound, and appends one flushed line per arrival to LOGFILE:
//   "<proto> <peer-addr> <peer-port>: <first payload line>"
// A TCP connection is closed only after its line is in the log, and the TCP probe waits for
// that close, so a "reached" TCP probe returns after the arrival is logged. An icmp listener
// is a raw socket that logs the echo requests (not replies) addressed to ADDR ("0.0.0.0"
// and "::": any) with peer port 0; it needs CAP_NET_RAW.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

enum verdict {
  VERDICT_REACHED = 0,
  VERDICT_BLOCKED = 1,
  VERDICT_REFUSED = 2,
  VERDICT_TIMEOUT = 3,
  VERDICT_ERROR = 4,
  VERDICT_UNSUPPORTED = 5,
  VERDICT_USAGE = 64,
};

enum {
  CONNECT_TIMEOUT_MS = 2000,
  PING_TIMEOUT_MS = 2000,
  PEER_CLOSE_TIMEOUT_MS = 1000,
  MAX_PAYLOAD = 256,
  MAX_PACKET = 1024,
  // Marks an errno that socket() returned, so that it is never reported as "blocked".
  SOCKET_FAILED = 1 << 16,
};

struct endpoint {
  struct sockaddr_storage addr;
  socklen_t len;
};

static int usage(void) {
  fputs(
      "usage: jail-probe connect tcp|udp|mptcp ADDR PORT [TAG]\n"
      "       jail-probe sendto tcp|udp ADDR PORT [TAG]\n"
      "       jail-probe sendmsg udp ADDR PORT [TAG]\n"
      "       jail-probe sendto-v6sock udp IPV4-ADDR PORT [TAG]\n"
      "       jail-probe sendto-bcast udp ADDR PORT [TAG]\n"
      "       jail-probe sendto-mcast IFNAME ADDR PORT [TAG]\n"
      "       jail-probe udp-connect-sendto FIRST ADDR PORT [TAG]\n"
      "       jail-probe sctp|raw-udp|raw-udp-hdrincl ADDR PORT [TAG]\n"
      "       jail-probe ping|dgram-ping|dgram-ping-connect ADDR [TAG]\n"
      "       jail-probe packet-udp IFNAME ADDR PORT [TAG]\n"
      "       jail-probe listen tcp|udp|sctp|icmp ADDR PORT LOGFILE\n"
      "       jail-probe unix-connect stream|dgram NAME [TAG]\n"
      "       jail-probe unix-sendto dgram NAME [TAG]\n"
      "       jail-probe unix-socketpair stream|dgram [TAG]\n"
      "       jail-probe unix-listen stream|dgram NAME LOGFILE\n",
      stderr);
  return VERDICT_USAGE;
}

// "fe80::1%eth0" carries a scope id; everything else is a plain inet_pton literal.
static bool parse_endpoint(const char* text, const char* port_text, struct endpoint* out) {
  char* end = NULL;
  long port = strtol(port_text, &end, 10);
  if (*port_text == '\0' || *end != '\0' || port < 0 || port > 65535) return false;

  memset(out, 0, sizeof(*out));
  struct sockaddr_in* v4 = (struct sockaddr_in*)&out->addr;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    out->len = sizeof(*v4);
    return true;
  }

  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
  if (strlen(text) >= sizeof(host)) return false;
  strcpy(host, text);
  struct sockaddr_in6* v6 = (struct sockaddr_in6*)&out->addr;
  char* scope = strchr(host, '%');
  if (scope != NULL) {
    *scope++ = '\0';
    v6->sin6_scope_id = if_nametoindex(scope);
    if (v6->sin6_scope_id == 0) return false;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1) return false;
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons((uint16_t)port);
  out->len = sizeof(*v6);
  return true;
}

// The same address as ::ffff:a.b.c.d, for a dual-stack AF_INET6 socket.
static void map_v4_to_v6(struct endpoint* ep) {
  if (ep->addr.ss_family != AF_INET) return;
  struct sockaddr_in v4 = *(struct sockaddr_in*)&ep->addr;
  struct sockaddr_in6* v6 = (struct sockaddr_in6*)&ep->addr;
  memset(&ep->addr, 0, sizeof(ep->addr));
  v6->sin6_family = AF_INET6;
  v6->sin6_port = v4.sin_port;
  v6->sin6_addr.s6_addr[10] = 0xff;
  v6->sin6_addr.s6_addr[11] = 0xff;
  memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
  ep->len = sizeof(*v6);
}

static uint16_t endpoint_port(const struct endpoint* ep) {
  return ep->addr.ss_family == AF_INET ? ((const struct sockaddr_in*)&ep->addr)->sin_port
                                       : ((const struct sockaddr_in6*)&ep->addr)->sin6_port;
}

static void set_endpoint_port(struct endpoint* ep, uint16_t port_be) {
  if (ep->addr.ss_family == AF_INET)
    ((struct sockaddr_in*)&ep->addr)->sin_port = port_be;
  else
    ((struct sockaddr_in6*)&ep->addr)->sin6_port = port_be;
}

static const char* errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name != NULL ? name : "UNKNOWN";
}

static int report(const char* what, int err) {
  if (err & SOCKET_FAILED) {
    err &= ~SOCKET_FAILED;
    if (err == EAFNOSUPPORT || err == EPFNOSUPPORT || err == EPROTONOSUPPORT ||
        err == ESOCKTNOSUPPORT || err == ENOPROTOOPT) {
      printf("%s: unsupported socket() %s: %s\n", what, errno_name(err), strerror(err));
      return VERDICT_UNSUPPORTED;
    }
    printf("%s: error %s (socket)\n", what, errno_name(err));
    return VERDICT_ERROR;
  }
  if (err == 0) {
    printf("%s: reached\n", what);
    return VERDICT_REACHED;
  }
  if (err == EPERM || err == EACCES) {
    printf("%s: blocked %s\n", what, errno_name(err));
    return VERDICT_BLOCKED;
  }
  if (err == ECONNREFUSED) {
    printf("%s: refused\n", what);
    return VERDICT_REFUSED;
  }
  if (err == ETIMEDOUT) {
    printf("%s: timeout\n", what);
    return VERDICT_TIMEOUT;
  }
  printf("%s: error %s\n", what, errno_name(err));
  return VERDICT_ERROR;
}

static int open_socket(int family, int type, int protocol, int* fd) {
  *fd = socket(family, type | SOCK_CLOEXEC, protocol);
  return *fd < 0 ? SOCKET_FAILED | errno : 0;
}

// ---------------------------------------------------------------------------------------
// TCP, SCTP, MPTCP, UDP through the ordinary socket calls

// Returns 0 once the socket is writable and connected, else the errno that stopped it.
static int wait_connected(int fd) {
  struct pollfd pfd = {.fd = fd, .events = POLLOUT};
  int ready = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
  if (ready < 0) return errno;
  if (ready == 0) return ETIMEDOUT;
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

// Lets the listener log the payload before we exit: it closes only after writing its line.
static void wait_peer_close(int fd) {
  shutdown(fd, SHUT_WR);
  char buf[64];
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, PEER_CLOSE_TIMEOUT_MS) <= 0) return;
    if (read(fd, buf, sizeof(buf)) <= 0) return;
  }
}

static int send_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0) return errno;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

// A connection-oriented stream: TCP, MPTCP (falls back to TCP against a TCP listener) or
// SCTP one-to-one style.
static int probe_stream_connect(const struct endpoint* dst, int protocol, const char* payload) {
  int fd;
  int err = open_socket(dst->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, protocol, &fd);
  if (err) return err;
  if (connect(fd, (const struct sockaddr*)&dst->addr, dst->len) < 0) {
    err = errno == EINPROGRESS ? wait_connected(fd) : errno;
  }
  if (err == 0) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    err = send_all(fd, payload, strlen(payload));
  }
  if (err == 0) wait_peer_close(fd);
  close(fd);
  return err;
}

// TCP Fast Open: the destination reaches the kernel through sendto, not connect.
static int probe_tcp_fastopen(const struct endpoint* dst, const char* payload) {
  int fd;
  int err = open_socket(dst->addr.ss_family, SOCK_STREAM, 0, &fd);
  if (err) return err;
  struct timeval timeout = {.tv_sec = CONNECT_TIMEOUT_MS / 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  if (sendto(fd, payload, strlen(payload), MSG_FASTOPEN | MSG_NOSIGNAL,
             (const struct sockaddr*)&dst->addr, dst->len) < 0) {
    err = errno == EINPROGRESS || errno == EAGAIN ? ETIMEDOUT : errno;
  }
  if (err == 0) wait_peer_close(fd);
  close(fd);
  return err;
}

enum udp_style {
  UDP_CONNECT,        // connect + send
  UDP_SENDTO,         // sendto
  UDP_SENDMSG,        // sendmsg with msg_name, AF_INET6 sockets dual-stack
  UDP_SENDTO_V6SOCK,  // AF_INET6 socket, sendto an AF_INET address
  UDP_BROADCAST,      // sendto with SO_BROADCAST
};

static int probe_udp(const struct endpoint* dst, const char* payload, enum udp_style style) {
  int family = style == UDP_SENDTO_V6SOCK ? AF_INET6 : dst->addr.ss_family;
  int fd;
  int err = open_socket(family, SOCK_DGRAM, 0, &fd);
  if (err) return err;
  int on = 1;
  if (style == UDP_BROADCAST && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on)) < 0) {
    err = errno;
    close(fd);
    return err;
  }
  const struct sockaddr* to = (const struct sockaddr*)&dst->addr;
  size_t len = strlen(payload);
  switch (style) {
    case UDP_CONNECT:
      if (connect(fd, to, dst->len) < 0 || send(fd, payload, len, 0) < 0) err = errno;
      break;
    case UDP_BROADCAST:
    case UDP_SENDTO:
    case UDP_SENDTO_V6SOCK:
      if (sendto(fd, payload, len, 0, to, dst->len) < 0) err = errno;
      break;
    case UDP_SENDMSG: {
      int off = 0;
      if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
      struct iovec iov = {.iov_base = (void*)payload, .iov_len = len};
      struct msghdr msg = {
          .msg_name = (void*)to, .msg_namelen = dst->len, .msg_iov = &iov, .msg_iovlen = 1};
      if (sendmsg(fd, &msg, 0) < 0) err = errno;
      break;
    }
  }
  close(fd);
  return err;
}

// A UDP socket connected to an allowed destination, then sendto somewhere else: sendto's
// address overrides the connected one for that datagram.
static int probe_udp_connect_sendto(const struct endpoint* first, const struct endpoint* dst,
                                    const char* payload, char* note, size_t note_size) {
  int fd;
  int err = open_socket(dst->addr.ss_family, SOCK_DGRAM, 0, &fd);
  if (err) return err;
  if (connect(fd, (const struct sockaddr*)&first->addr, first->len) < 0) {
    err = errno;
    snprintf(note, note_size, " (connect to FIRST)");
  } else if (sendto(fd, payload, strlen(payload), 0, (const struct sockaddr*)&dst->addr, dst->len) <
             0) {
    err = errno;
  }
  close(fd);
  return err;
}

// UDP to a multicast group or the limited broadcast 255.255.255.255 out of IFNAME
// (IP_MULTICAST_IF / IP_UNICAST_IF, no privilege needed); the sender's own netns gets a
// looped-back copy.
static int probe_udp_multicast(const char* ifname, const struct endpoint* dst,
                               const char* payload) {
  int family = dst->addr.ss_family;
  int ifindex = (int)if_nametoindex(ifname);
  if (ifindex == 0) return errno;
  int fd;
  int err = open_socket(family, SOCK_DGRAM, 0, &fd);
  if (err) return err;
  int rc;
  if (family == AF_INET) {
    struct ip_mreqn mreq = {.imr_ifindex = ifindex};
    int on = 1;
    uint32_t ifindex_be = htonl((uint32_t)ifindex);
    rc = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) |
         setsockopt(fd, IPPROTO_IP, IP_UNICAST_IF, &ifindex_be, sizeof(ifindex_be)) |
         setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on));
  } else {
    rc = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex));
  }
  if (rc < 0 ||
      sendto(fd, payload, strlen(payload), 0, (const struct sockaddr*)&dst->addr, dst->len) < 0)
    err = errno;
  close(fd);
  return err;
}

// ---------------------------------------------------------------------------------------
// Hand-built packets: ping, raw UDP, AF_PACKET

static uint32_t checksum_add(uint32_t sum, const void* data, size_t len) {
  const uint8_t* p = data;
  for (; len > 1; p += 2, len -= 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (len) sum += (uint32_t)(p[0] << 8);
  return sum;
}

static uint16_t checksum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static uint16_t probe_ident(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint16_t)((uint32_t)getpid() * 2654435761u ^ (uint32_t)now.tv_nsec);
}

static bool is_loopback_or_unspec(const struct endpoint* ep) {
  if (ep->addr.ss_family == AF_INET) {
    uint8_t first = ((const uint8_t*)&((const struct sockaddr_in*)&ep->addr)->sin_addr)[0];
    return first == 127 || first == 0;
  }
  const struct in6_addr* a = &((const struct sockaddr_in6*)&ep->addr)->sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a);
}

// A source address for a hand-built packet to dst: dst itself when it is ours, loopback
// for loopback, a link-local one for a link-local dst, else the first global one
// (restricted to IFNAME when given). Returns false when there is none.
static bool pick_source(const struct endpoint* dst, const char* ifname, uint8_t out[16]) {
  int family = dst->addr.ss_family;
  size_t alen = family == AF_INET ? 4 : 16;
  const void* want = family == AF_INET
                         ? (const void*)&((const struct sockaddr_in*)&dst->addr)->sin_addr
                         : (const void*)&((const struct sockaddr_in6*)&dst->addr)->sin6_addr;
  bool want_loopback = is_loopback_or_unspec(dst);
  bool want_link_local = family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr*)want);
  struct ifaddrs* list;
  if (getifaddrs(&list) < 0) return false;
  int best = 0;  // 3 == dst itself, 2 == matching scope, 1 == any of the family
  for (struct ifaddrs* ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != family) continue;
    if (ifname != NULL && strcmp(ifa->ifa_name, ifname) != 0) continue;
    const void* a = family == AF_INET
                        ? (const void*)&((const struct sockaddr_in*)ifa->ifa_addr)->sin_addr
                        : (const void*)&((const struct sockaddr_in6*)ifa->ifa_addr)->sin6_addr;
    bool loopback = family == AF_INET ? ((const uint8_t*)a)[0] == 127
                                      : IN6_IS_ADDR_LOOPBACK((const struct in6_addr*)a);
    bool link_local = family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr*)a);
    int score = 1;
    if (memcmp(a, want, alen) == 0) {
      score = 3;
    } else if (want_loopback ? loopback : (link_local == want_link_local && !loopback)) {
      score = 2;
    }
    if (score > best) {
      best = score;
      memcpy(out, a, alen);
    }
  }
  freeifaddrs(list);
  return best > 0;
}

// Writes UDP header + payload at out; the checksum covers the pseudo header of src/dst.
static size_t build_udp(int family, const uint8_t* src, const uint8_t* dst, uint16_t sport_be,
                        uint16_t dport_be, const char* payload, uint8_t* out, bool checksum) {
  size_t plen = strlen(payload);
  struct udphdr* udp = (struct udphdr*)out;
  uint16_t ulen = (uint16_t)(sizeof(*udp) + plen);
  udp->source = sport_be;
  udp->dest = dport_be;
  udp->len = htons(ulen);
  udp->check = 0;
  memcpy(out + sizeof(*udp), payload, plen);
  if (checksum) {
    size_t alen = family == AF_INET ? 4 : 16;
    uint32_t sum = checksum_add(0, src, alen);
    sum = checksum_add(sum, dst, alen);
    sum += IPPROTO_UDP + ulen;
    sum = checksum_add(sum, out, ulen);
    udp->check = checksum_fold(sum);
    if (udp->check == 0) udp->check = 0xffff;
  }
  return ulen;
}

// IP header + UDP for the hdrincl and AF_PACKET probes. src may be all zero for IPv4
// hdrincl (the kernel fills it in).
static size_t build_ip_udp(const struct endpoint* dst, const uint8_t* src, const char* payload,
                           uint8_t* out) {
  uint16_t sport = htons((uint16_t)(40000 + probe_ident() % 20000));
  if (dst->addr.ss_family == AF_INET) {
    const struct sockaddr_in* d = (const struct sockaddr_in*)&dst->addr;
    struct iphdr* ip = (struct iphdr*)out;
    size_t ulen = build_udp(AF_INET, src, (const uint8_t*)&d->sin_addr, sport, d->sin_port, payload,
                            out + sizeof(*ip), false);
    memset(ip, 0, sizeof(*ip));
    ip->version = 4;
    ip->ihl = sizeof(*ip) / 4;
    ip->tot_len = htons((uint16_t)(sizeof(*ip) + ulen));
    ip->id = htons(probe_ident());
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    memcpy(&ip->saddr, src, 4);
    ip->daddr = d->sin_addr.s_addr;
    ip->check = checksum_fold(checksum_add(0, ip, sizeof(*ip)));
    return sizeof(*ip) + ulen;
  }
  const struct sockaddr_in6* d = (const struct sockaddr_in6*)&dst->addr;
  struct ip6_hdr* ip6 = (struct ip6_hdr*)out;
  size_t ulen = build_udp(AF_INET6, src, d->sin6_addr.s6_addr, sport, d->sin6_port, payload,
                          out + sizeof(*ip6), true);
  memset(ip6, 0, sizeof(*ip6));
  ip6->ip6_flow = htonl(6u << 28);
  ip6->ip6_plen = htons((uint16_t)ulen);
  ip6->ip6_nxt = IPPROTO_UDP;
  ip6->ip6_hlim = 64;
  memcpy(&ip6->ip6_src, src, 16);
  ip6->ip6_dst = d->sin6_addr;
  return sizeof(*ip6) + ulen;
}

// Raw sockets judge only the address; IPv6 raw sockets refuse a port other than 0.
static struct endpoint without_port(const struct endpoint* dst) {
  struct endpoint to = *dst;
  set_endpoint_port(&to, 0);
  return to;
}

// SOCK_RAW IPPROTO_UDP: no sock_addr hook sees this socket, only the egress backstop.
static int probe_raw_udp(const struct endpoint* dst, const char* payload) {
  int family = dst->addr.ss_family;
  int fd;
  int err = open_socket(family, SOCK_RAW, IPPROTO_UDP, &fd);
  if (err) return err;
  // The kernel computes the IPv6 UDP checksum (mandatory there); IPv4 may carry none.
  int offset = offsetof(struct udphdr, check);
  if (family == AF_INET6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof(offset)) < 0) {
    err = errno;
    close(fd);
    return err;
  }
  uint8_t packet[MAX_PACKET];
  uint8_t none[16] = {0};
  size_t len = build_udp(family, none, none, htons((uint16_t)(40000 + probe_ident() % 20000)),
                         endpoint_port(dst), payload, packet, false);
  struct endpoint to = without_port(dst);
  if (sendto(fd, packet, len, 0, (const struct sockaddr*)&to.addr, to.len) < 0) err = errno;
  close(fd);
  return err;
}

// IPPROTO_RAW: the probe writes the IP header too (IP_HDRINCL / IPV6_HDRINCL implied).
static int probe_raw_udp_hdrincl(const struct endpoint* dst, const char* payload, char* note,
                                 size_t note_size) {
  int family = dst->addr.ss_family;
  uint8_t src[16] = {0};
  if (family == AF_INET6 && !pick_source(dst, NULL, src)) {
    snprintf(note, note_size, " (no IPv6 source address)");
    return EADDRNOTAVAIL;
  }
  int fd;
  int err = open_socket(family, SOCK_RAW, IPPROTO_RAW, &fd);
  if (err) return err;
  uint8_t packet[MAX_PACKET];
  size_t len = build_ip_udp(dst, src, payload, packet);
  struct endpoint to = without_port(dst);
  if (sendto(fd, packet, len, 0, (const struct sockaddr*)&to.addr, to.len) < 0) err = errno;
  close(fd);
  return err;
}

static bool is_loopback_device(const char* ifname) {
  struct ifaddrs* list;
  bool loopback = false;
  if (getifaddrs(&list) < 0) return false;
  for (struct ifaddrs* ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
    if (strcmp(ifa->ifa_name, ifname) == 0 && (ifa->ifa_flags & IFF_LOOPBACK)) loopback = true;
  }
  freeifaddrs(list);
  return loopback;
}

// AF_PACKET: the frame leaves through the device queue, below the IP layer.
static int probe_packet_udp(const char* ifname, const struct endpoint* dst, const char* payload,
                            char* note, size_t note_size) {
  int family = dst->addr.ss_family;
  uint8_t src[16] = {0};
  if (!pick_source(dst, ifname, src)) {
    snprintf(note, note_size, " (no source address on %s)", ifname);
    return EADDRNOTAVAIL;
  }
  // Looped back into this very netns, an IPv4 packet from one of its own addresses (or
  // 127/8) is a martian source: spoof one that is not ours (TEST-NET-1), as an attacker
  // would; nothing needs to answer.
  if (family == AF_INET && is_loopback_device(ifname)) {
    static const uint8_t kForeignSource[4] = {192, 0, 2, 1};
    memcpy(src, kForeignSource, 4);
  }
  uint16_t ethertype = htons(family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
  int fd;
  int err = open_socket(AF_PACKET, SOCK_DGRAM, ethertype, &fd);
  if (err) return err;
  struct sockaddr_ll to = {.sll_family = AF_PACKET,
                           .sll_protocol = ethertype,
                           .sll_ifindex = (int)if_nametoindex(ifname),
                           .sll_halen = ETH_ALEN};
  memset(to.sll_addr, 0xff, ETH_ALEN);  // broadcast: no need to resolve the host's MAC
  uint8_t packet[MAX_PACKET];
  size_t len = build_ip_udp(dst, src, payload, packet);
  if (to.sll_ifindex == 0) {
    err = errno;
  } else if (sendto(fd, packet, len, 0, (const struct sockaddr*)&to, sizeof(to)) < 0) {
    err = errno;
  }
  close(fd);
  return err;
}

enum ping_style { PING_RAW, PING_DGRAM, PING_DGRAM_CONNECT };

// Is buf (as received on our socket) an echo reply to (id, seq)? Raw IPv4 sockets receive
// the IP header too; ping sockets match the id themselves (they rewrite it).
static bool is_echo_reply(int family, enum ping_style style, const uint8_t* buf, size_t len,
                          uint16_t id, uint16_t seq) {
  if (family == AF_INET && style == PING_RAW) {
    if (len < sizeof(struct iphdr)) return false;
    size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
    if (len < ihl) return false;
    buf += ihl;
    len -= ihl;
  }
  if (len < 8) return false;
  uint8_t reply_type = family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
  uint16_t got_id, got_seq;
  memcpy(&got_id, buf + 4, 2);
  memcpy(&got_seq, buf + 6, 2);
  return buf[0] == reply_type && got_seq == htons(seq) &&
         (style != PING_RAW || got_id == htons(id));
}

static int probe_ping(const struct endpoint* dst, const char* payload, enum ping_style style) {
  int family = dst->addr.ss_family;
  int fd;
  int err = open_socket(family, style == PING_RAW ? SOCK_RAW : SOCK_DGRAM,
                        family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, &fd);
  if (err) return err;

  uint16_t id = probe_ident(), seq = 1;
  uint8_t packet[MAX_PACKET] = {0};
  size_t plen = strlen(payload);
  packet[0] = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  uint16_t id_be = htons(id), seq_be = htons(seq);
  memcpy(packet + 4, &id_be, 2);
  memcpy(packet + 6, &seq_be, 2);
  memcpy(packet + 8, payload, plen);
  // The kernel sums ICMPv6 and ping sockets itself; a raw ICMP socket sends what it gets.
  if (family == AF_INET && style == PING_RAW) {
    uint16_t sum = checksum_fold(checksum_add(0, packet, 8 + plen));
    memcpy(packet + 2, &sum, 2);
  }
  struct endpoint to = without_port(dst);
  if (style == PING_DGRAM_CONNECT) {
    if (connect(fd, (const struct sockaddr*)&to.addr, to.len) < 0 ||
        send(fd, packet, 8 + plen, 0) < 0)
      err = errno;
  } else if (sendto(fd, packet, 8 + plen, 0, (const struct sockaddr*)&to.addr, to.len) < 0) {
    err = errno;
  }

  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (err == 0) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = waited < PING_TIMEOUT_MS ? poll(&pfd, 1, (int)(PING_TIMEOUT_MS - waited)) : 0;
    if (ready < 0 && errno != EINTR) err = errno;
    if (ready == 0) err = ETIMEDOUT;
    if (ready <= 0) continue;
    uint8_t buf[MAX_PACKET];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) err = errno;
      continue;
    }
    if (is_echo_reply(family, style, buf, (size_t)n, id, seq)) break;
  }
  close(fd);
  return err;
}

// ---------------------------------------------------------------------------------------
// Probe command line

struct probe_command {
  const char* verb;
  int args;        // positional arguments before the optional TAG
  bool has_proto;  // first argument is tcp|udp|mptcp
};

static const struct probe_command kProbes[] = {
    {"connect", 3, true},
    {"sendto", 3, true},
    {"sendmsg", 3, true},
    {"sendto-v6sock", 3, true},
    {"sendto-bcast", 3, true},
    {"sendto-mcast", 3, false},
    {"udp-connect-sendto", 3, false},
    {"sctp", 2, false},
    {"ping", 1, false},
    {"dgram-ping", 1, false},
    {"dgram-ping-connect", 1, false},
    {"raw-udp", 2, false},
    {"raw-udp-hdrincl", 2, false},
    {"packet-udp", 3, false},
};

static int bad_address(const char* addr, const char* port) {
  fprintf(stderr, "jail-probe: bad address or port: %s %s\n", addr, port);
  return VERDICT_USAGE;
}

static int run_probe(const struct probe_command* cmd, char** args, const char* tag) {
  char what[192];
  int used = snprintf(what, sizeof(what), "%s", cmd->verb);
  for (int i = 0; i < cmd->args && used < (int)sizeof(what); ++i)
    used += snprintf(what + used, sizeof(what) - (size_t)used, " %s", args[i]);
  char payload[MAX_PAYLOAD];
  snprintf(payload, sizeof(payload), "probe %s\n", tag != NULL ? tag : what);
  char note[96] = "";

  const char* verb = cmd->verb;
  const char* proto = cmd->has_proto ? args[0] : NULL;
  char** rest = cmd->has_proto ? args + 1 : args;  // ADDR [PORT] or FIRST ADDR PORT / IF ...
  struct endpoint dst;
  int err;

  if (cmd->has_proto) {
    bool tcp = strcmp(proto, "tcp") == 0, udp = strcmp(proto, "udp") == 0;
    bool mptcp = strcmp(proto, "mptcp") == 0;
    bool ok = strcmp(verb, "connect") == 0  ? (tcp || udp || mptcp)
              : strcmp(verb, "sendto") == 0 ? (tcp || udp)
                                            : udp;
    if (!ok) return usage();
    if (!parse_endpoint(rest[0], rest[1], &dst)) return bad_address(rest[0], rest[1]);
    if (strcmp(verb, "connect") == 0) {
      err = udp ? probe_udp(&dst, payload, UDP_CONNECT)
                : probe_stream_connect(&dst, mptcp ? IPPROTO_MPTCP : 0, payload);
    } else if (strcmp(verb, "sendto") == 0) {
      err = tcp ? probe_tcp_fastopen(&dst, payload) : probe_udp(&dst, payload, UDP_SENDTO);
    } else if (strcmp(verb, "sendmsg") == 0) {
      err = probe_udp(&dst, payload, UDP_SENDMSG);
    } else if (strcmp(verb, "sendto-bcast") == 0) {
      err = probe_udp(&dst, payload, UDP_BROADCAST);
    } else {
      if (dst.addr.ss_family != AF_INET) return bad_address(rest[0], rest[1]);
      err = probe_udp(&dst, payload, UDP_SENDTO_V6SOCK);
    }
  } else if (strcmp(verb, "udp-connect-sendto") == 0) {
    struct endpoint first;
    if (!parse_endpoint(rest[0], rest[2], &first)) return bad_address(rest[0], rest[2]);
    if (!parse_endpoint(rest[1], rest[2], &dst)) return bad_address(rest[1], rest[2]);
    if (dst.addr.ss_family == AF_INET6) map_v4_to_v6(&first);
    if (first.addr.ss_family != dst.addr.ss_family) return bad_address(rest[0], rest[2]);
    err = probe_udp_connect_sendto(&first, &dst, payload, note, sizeof(note));
  } else if (strcmp(verb, "packet-udp") == 0) {
    if (!parse_endpoint(rest[1], rest[2], &dst)) return bad_address(rest[1], rest[2]);
    err = probe_packet_udp(rest[0], &dst, payload, note, sizeof(note));
  } else if (strcmp(verb, "sendto-mcast") == 0) {
    if (!parse_endpoint(rest[1], rest[2], &dst)) return bad_address(rest[1], rest[2]);
    err = probe_udp_multicast(rest[0], &dst, payload);
  } else if (cmd->args == 1) {  // the pings
    if (!parse_endpoint(rest[0], "0", &dst)) return bad_address(rest[0], "-");
    enum ping_style style = strcmp(verb, "ping") == 0         ? PING_RAW
                            : strcmp(verb, "dgram-ping") == 0 ? PING_DGRAM
                                                              : PING_DGRAM_CONNECT;
    err = probe_ping(&dst, payload, style);
  } else {
    if (!parse_endpoint(rest[0], rest[1], &dst)) return bad_address(rest[0], rest[1]);
    if (strcmp(verb, "sctp") == 0) {
      err = probe_stream_connect(&dst, IPPROTO_SCTP, payload);
    } else if (strcmp(verb, "raw-udp") == 0) {
      err = probe_raw_udp(&dst, payload);
    } else {
      err = probe_raw_udp_hdrincl(&dst, payload, note, sizeof(note));
    }
  }
  if (note[0] != '\0' && used < (int)sizeof(what))
    snprintf(what + used, sizeof(what) - (size_t)used, "%s", note);
  int verdict = report(what, err);
  fflush(stdout);
  return verdict;
}

// ---------------------------------------------------------------------------------------
// Listener

static void format_peer(const struct sockaddr_storage* peer, char* out, size_t size) {
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (peer->ss_family == AF_INET) {
    const struct sockaddr_in* v4 = (const struct sockaddr_in*)peer;
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
  } else if (peer->ss_family == AF_INET6) {
    const struct sockaddr_in6* v6 = (const struct sockaddr_in6*)peer;
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
    port = ntohs(v6->sin6_port);
  }
  snprintf(out, size, "%s %u", host, port);
}

static void log_arrival(FILE* log, const char* proto, const struct sockaddr_storage* peer,
                        char* payload, size_t len) {
  payload[len] = '\0';
  payload[strcspn(payload, "\r\n")] = '\0';
  char who[INET6_ADDRSTRLEN + 8];
  format_peer(peer, who, sizeof(who));
  fprintf(log, "%s %s: %s\n", proto, who, payload);
  fflush(log);
}

// Reads up to the first newline (or EOF, or a short timeout) from an accepted connection.
static size_t read_first_line(int fd, char* buf, size_t size) {
  size_t len = 0;
  while (len < size - 1 && memchr(buf, '\n', len) == NULL) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, PEER_CLOSE_TIMEOUT_MS) <= 0) break;
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n <= 0) break;
    len += (size_t)n;
  }
  return len;
}

enum listen_kind { LISTEN_TCP, LISTEN_UDP, LISTEN_SCTP, LISTEN_ICMP };

// Returns the bound (and for streams listening) socket, or -1 with errno set.
static int open_listener(const struct endpoint* local, enum listen_kind kind) {
  bool v6 = local->addr.ss_family == AF_INET6;
  int type = kind == LISTEN_UDP ? SOCK_DGRAM : kind == LISTEN_ICMP ? SOCK_RAW : SOCK_STREAM;
  int protocol = kind == LISTEN_SCTP   ? IPPROTO_SCTP
                 : kind == LISTEN_ICMP ? (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)
                                       : 0;
  int fd = socket(local->addr.ss_family, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -1;
  int one = 1;
  int fastopen_queue = 16;
  // Raw sockets have no ports to share and refuse IPV6_V6ONLY (their family is fixed).
  bool ported = kind != LISTEN_ICMP;
  if ((ported && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
      (ported && v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
      (kind == LISTEN_TCP &&
       setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &fastopen_queue, sizeof(fastopen_queue)) < 0) ||
      bind(fd, (const struct sockaddr*)&local->addr, local->len) < 0 ||
      ((kind == LISTEN_TCP || kind == LISTEN_SCTP) && listen(fd, 64) < 0)) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// Logs an ICMP echo request (not our own replies, not errors); the echo data is the payload.
static void log_echo_request(FILE* log, int family, const struct sockaddr_storage* peer,
                             uint8_t* buf, size_t len) {
  if (family == AF_INET) {
    if (len < sizeof(struct iphdr)) return;
    size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
    if (len < ihl + 8) return;
    buf += ihl;
    len -= ihl;
  }
  if (len < 8 || buf[0] != (family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST)) return;
  log_arrival(log, "icmp", peer, (char*)buf + 8, len - 8);
}

static int run_listener(const char* proto, const char* addr, const char* port,
                        const char* log_path) {
  enum listen_kind kind;
  if (strcmp(proto, "tcp") == 0) {
    kind = LISTEN_TCP;
  } else if (strcmp(proto, "udp") == 0) {
    kind = LISTEN_UDP;
  } else if (strcmp(proto, "sctp") == 0) {
    kind = LISTEN_SCTP;
  } else if (strcmp(proto, "icmp") == 0) {
    kind = LISTEN_ICMP;
  } else {
    return usage();
  }
  struct endpoint local;
  if (!parse_endpoint(addr, port, &local)) return bad_address(addr, port);
  if (kind == LISTEN_ICMP) set_endpoint_port(&local, 0);
  FILE* log = fopen(log_path, "a");
  if (log == NULL) {
    fprintf(stderr, "jail-probe: %s: %s\n", log_path, strerror(errno));
    return VERDICT_ERROR;
  }

  int fd = open_listener(&local, kind);
  if (fd < 0) {
    fprintf(stderr, "jail-probe: listen %s %s %s: %s\n", proto, addr, port, strerror(errno));
    return VERDICT_ERROR;
  }
  puts("listening");
  fflush(stdout);

  // One byte spare for log_arrival's terminator.
  uint8_t buf[MAX_PACKET + 1];
  for (;;) {
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    if (kind == LISTEN_TCP || kind == LISTEN_SCTP) {
      int conn = accept4(fd, (struct sockaddr*)&peer, &peer_len, SOCK_CLOEXEC);
      if (conn < 0) continue;
      size_t len = read_first_line(conn, (char*)buf, MAX_PAYLOAD);
      log_arrival(log, proto, &peer, (char*)buf, len);
      close(conn);
      continue;
    }
    ssize_t n = recvfrom(fd, buf, MAX_PACKET, 0, (struct sockaddr*)&peer, &peer_len);
    if (n < 0) continue;
    if (kind == LISTEN_ICMP) {
      log_echo_request(log, local.addr.ss_family, &peer, buf, (size_t)n);
    } else {
      log_arrival(log, proto, &peer, (char*)buf, (size_t)n);
    }
  }
}

// ---------------------------------------------------------------------------------------
// AF_UNIX: path names and abstract names ("@name" on the command line)

// Fills `un` from NAME; returns the address length, 0 when NAME does not fit.
static socklen_t unix_address(const char* name, struct sockaddr_un* un) {
  memset(un, 0, sizeof(*un));
  un->sun_family = AF_UNIX;
  const bool abstract = name[0] == '@';
  const size_t len = strlen(name);  // "@x": '\0' then "x", the same length
  if (len == 0 || len > sizeof(un->sun_path) - (abstract ? 0 : 1)) return 0;
  memcpy(un->sun_path, name, len);
  if (abstract) un->sun_path[0] = '\0';
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 0 : 1));
}

static bool unix_type(const char* text, int* type) {
  if (strcmp(text, "stream") == 0) {
    *type = SOCK_STREAM;
  } else if (strcmp(text, "dgram") == 0) {
    *type = SOCK_DGRAM;
  } else {
    return false;
  }
  return true;
}

// unix-connect (connect, then send) and unix-sendto (a datagram that names its address).
static int probe_unix(const char* verb, int type, const char* name, const char* payload) {
  struct sockaddr_un un;
  socklen_t len = unix_address(name, &un);
  if (len == 0) return EINVAL;
  int fd;
  int err = open_socket(AF_UNIX, type, 0, &fd);
  if (err) return err;
  if (strcmp(verb, "unix-sendto") == 0) {
    if (sendto(fd, payload, strlen(payload), MSG_NOSIGNAL, (const struct sockaddr*)&un, len) < 0)
      err = errno;
  } else if (connect(fd, (const struct sockaddr*)&un, len) < 0) {
    err = errno;
  } else {
    err = send_all(fd, payload, strlen(payload));
    if (err == 0 && type == SOCK_STREAM) wait_peer_close(fd);
  }
  close(fd);
  return err;
}

// A pair made by socketpair() names no address: what must keep working under deny-all.
static int probe_unix_socketpair(int type, const char* payload) {
  int fds[2];
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) < 0) return SOCKET_FAILED | errno;
  int err = send_all(fds[0], payload, strlen(payload));
  char buf[MAX_PAYLOAD];
  if (err == 0 && read(fds[1], buf, sizeof(buf)) <= 0) err = errno ? errno : EIO;
  close(fds[0]);
  close(fds[1]);
  return err;
}

static int run_unix_probe(char** argv, int argc) {
  // argv: VERB TYPE [NAME] [TAG]
  const char* verb = argv[1];
  const bool pair = strcmp(verb, "unix-socketpair") == 0;
  const int args = pair ? 1 : 2;
  const int given = argc - 2;
  int type;
  if ((given != args && given != args + 1) || !unix_type(argv[2], &type)) return usage();
  if (strcmp(verb, "unix-sendto") == 0 && type != SOCK_DGRAM) return usage();
  char what[192];
  if (pair)
    snprintf(what, sizeof(what), "%s %s", verb, argv[2]);
  else
    snprintf(what, sizeof(what), "%s %s %s", verb, argv[2], argv[3]);
  char payload[MAX_PAYLOAD];
  snprintf(payload, sizeof(payload), "probe %s\n", given > args ? argv[2 + args] : what);
  int err = pair ? probe_unix_socketpair(type, payload) : probe_unix(verb, type, argv[3], payload);
  int verdict = report(what, err);
  fflush(stdout);
  return verdict;
}

static int run_unix_listener(const char* type_text, const char* name, const char* log_path) {
  int type;
  struct sockaddr_un un;
  socklen_t len = unix_address(name, &un);
  if (!unix_type(type_text, &type) || len == 0) return usage();
  FILE* log = fopen(log_path, "a");
  if (log == NULL) {
    fprintf(stderr, "jail-probe: %s: %s\n", log_path, strerror(errno));
    return VERDICT_ERROR;
  }
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (const struct sockaddr*)&un, len) < 0 ||
      (type == SOCK_STREAM && listen(fd, 64) < 0)) {
    fprintf(stderr, "jail-probe: unix-listen %s %s: %s\n", type_text, name, strerror(errno));
    return VERDICT_ERROR;
  }
  puts("listening");
  fflush(stdout);
  char buf[MAX_PACKET + 1];
  for (;;) {
    size_t n;
    if (type == SOCK_STREAM) {
      int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0) continue;
      n = read_first_line(conn, buf, MAX_PAYLOAD);
      close(conn);
    } else {
      ssize_t got = recv(fd, buf, MAX_PACKET, 0);
      if (got < 0) continue;
      n = (size_t)got;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    // The format of log_arrival, so that the tests' log readers take it as it is.
    fprintf(log, "unix - 0: %s\n", buf);
    fflush(log);
  }
}

int main(int argc, char** argv) {
  // A probe writing into a closed pipe must still exit with its verdict, not a signal.
  signal(SIGPIPE, SIG_IGN);
  if (argc < 3) return usage();
  const char* verb = argv[1];
  if (strcmp(verb, "listen") == 0) {
    if (argc != 6) return usage();
    return run_listener(argv[2], argv[3], argv[4], argv[5]);
  }
  if (strcmp(verb, "unix-listen") == 0) {
    if (argc != 5) return usage();
    return run_unix_listener(argv[2], argv[3], argv[4]);
  }
  if (strncmp(verb, "unix-", 5) == 0) return run_unix_probe(argv, argc);
  for (size_t i = 0; i < sizeof(kProbes) / sizeof(kProbes[0]); ++i) {
    const struct probe_command* cmd = &kProbes[i];
    if (strcmp(verb, cmd->verb) != 0) continue;
    int given = argc - 2;
    if (given != cmd->args && given != cmd->args + 1) return usage();
    return run_probe(cmd, argv + 2, given > cmd->args ? argv[2 + cmd->args] : NULL);
  }
  return usage();
}
