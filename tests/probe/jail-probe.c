// SPDX-License-Identifier: Apache-2.0
//
// jail-probe: the ground truth of the end-to-end tests. It runs inside the busybox
// container (built static, so the rootfs needs no libc) and on the fake host side.
//
//   jail-probe connect tcp|udp ADDR PORT [TAG]
//   jail-probe sendto  tcp|udp ADDR PORT [TAG]   (tcp: TCP Fast Open, sendto(MSG_FASTOPEN))
//   jail-probe listen  tcp|udp ADDR PORT LOGFILE
//
// connect/sendto print exactly one line "<verb> <proto> <addr> <port>: <result>" and exit
//   0 reached, 1 blocked (EPERM/EACCES), 2 refused, 3 timeout, 4 any other error,
//   64 usage error.
// The payload is "probe <tag>\n"; TAG defaults to "<verb> <proto> <addr> <port>" so a test
// can tell from the listener log which probe arrived.
//
// listen binds exactly ADDR (v6 sockets are IPV6_V6ONLY, so "::" does not take v4),
// prints "listening" once bound, and appends one flushed line per arrival to LOGFILE:
//   "<proto> <peer-addr> <peer-port>: <first payload line>"
// A TCP connection is closed only after its line is in the log, and the TCP probe waits for
// that close, so a "reached" TCP probe returns after the arrival is logged.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum verdict {
  VERDICT_REACHED = 0,
  VERDICT_BLOCKED = 1,
  VERDICT_REFUSED = 2,
  VERDICT_TIMEOUT = 3,
  VERDICT_ERROR = 4,
  VERDICT_USAGE = 64,
};

enum { CONNECT_TIMEOUT_MS = 2000, PEER_CLOSE_TIMEOUT_MS = 1000, MAX_PAYLOAD = 256 };

struct endpoint {
  struct sockaddr_storage addr;
  socklen_t len;
};

static int usage(void) {
  fputs(
      "usage: jail-probe connect tcp|udp ADDR PORT [TAG]\n"
      "       jail-probe sendto tcp|udp ADDR PORT [TAG]\n"
      "       jail-probe listen tcp|udp ADDR PORT LOGFILE\n",
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

static const char* errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name != NULL ? name : "UNKNOWN";
}

static int report(const char* what, int err) {
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

static int probe_tcp_connect(const struct endpoint* dst, const char* payload) {
  int fd = socket(dst->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = 0;
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
  int fd = socket(dst->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct timeval timeout = {.tv_sec = CONNECT_TIMEOUT_MS / 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  int err = 0;
  if (sendto(fd, payload, strlen(payload), MSG_FASTOPEN | MSG_NOSIGNAL,
             (const struct sockaddr*)&dst->addr, dst->len) < 0) {
    err = errno == EINPROGRESS || errno == EAGAIN ? ETIMEDOUT : errno;
  }
  if (err == 0) wait_peer_close(fd);
  close(fd);
  return err;
}

static int probe_udp(const struct endpoint* dst, const char* payload, bool connected) {
  int fd = socket(dst->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const struct sockaddr* to = (const struct sockaddr*)&dst->addr;
  size_t len = strlen(payload);
  int err = 0;
  if (connected) {
    if (connect(fd, to, dst->len) < 0 || send(fd, payload, len, 0) < 0) err = errno;
  } else if (sendto(fd, payload, len, 0, to, dst->len) < 0) {
    err = errno;
  }
  close(fd);
  return err;
}

static int run_probe(const char* verb, const char* proto, const char* addr, const char* port,
                     const char* tag) {
  bool connect_verb = strcmp(verb, "connect") == 0;
  bool tcp = strcmp(proto, "tcp") == 0;
  if (!tcp && strcmp(proto, "udp") != 0) return usage();

  struct endpoint dst;
  if (!parse_endpoint(addr, port, &dst)) {
    fprintf(stderr, "jail-probe: bad address or port: %s %s\n", addr, port);
    return VERDICT_USAGE;
  }

  char what[160];
  snprintf(what, sizeof(what), "%s %s %s %s", verb, proto, addr, port);
  char payload[MAX_PAYLOAD];
  snprintf(payload, sizeof(payload), "probe %s\n", tag != NULL ? tag : what);

  int err;
  if (tcp) {
    err = connect_verb ? probe_tcp_connect(&dst, payload) : probe_tcp_fastopen(&dst, payload);
  } else {
    err = probe_udp(&dst, payload, connect_verb);
  }
  int verdict = report(what, err);
  fflush(stdout);
  return verdict;
}

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

// Returns the bound (and for TCP listening) socket, or -1 with errno set.
static int open_listener(const struct endpoint* local, bool tcp) {
  int fd = socket(local->addr.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  int fastopen_queue = 16;
  bool v6 = local->addr.ss_family == AF_INET6;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
      (tcp &&
       setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &fastopen_queue, sizeof(fastopen_queue)) < 0) ||
      bind(fd, (const struct sockaddr*)&local->addr, local->len) < 0 ||
      (tcp && listen(fd, 64) < 0)) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static int run_listener(const char* proto, const char* addr, const char* port,
                        const char* log_path) {
  bool tcp = strcmp(proto, "tcp") == 0;
  if (!tcp && strcmp(proto, "udp") != 0) return usage();
  struct endpoint local;
  if (!parse_endpoint(addr, port, &local)) {
    fprintf(stderr, "jail-probe: bad address or port: %s %s\n", addr, port);
    return VERDICT_USAGE;
  }
  FILE* log = fopen(log_path, "a");
  if (log == NULL) {
    fprintf(stderr, "jail-probe: %s: %s\n", log_path, strerror(errno));
    return VERDICT_ERROR;
  }

  int fd = open_listener(&local, tcp);
  if (fd < 0) {
    fprintf(stderr, "jail-probe: listen %s %s %s: %s\n", proto, addr, port, strerror(errno));
    return VERDICT_ERROR;
  }
  puts("listening");
  fflush(stdout);

  char payload[MAX_PAYLOAD];
  for (;;) {
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    if (tcp) {
      int conn = accept4(fd, (struct sockaddr*)&peer, &peer_len, SOCK_CLOEXEC);
      if (conn < 0) continue;
      size_t len = read_first_line(conn, payload, sizeof(payload));
      log_arrival(log, proto, &peer, payload, len);
      close(conn);
    } else {
      ssize_t n = recvfrom(fd, payload, sizeof(payload) - 1, 0, (struct sockaddr*)&peer, &peer_len);
      if (n >= 0) log_arrival(log, proto, &peer, payload, (size_t)n);
    }
  }
}

int main(int argc, char** argv) {
  // A probe writing into a closed pipe must still exit with its verdict, not a signal.
  signal(SIGPIPE, SIG_IGN);
  if (argc < 5) return usage();
  const char* verb = argv[1];
  if (strcmp(verb, "listen") == 0) {
    if (argc != 6) return usage();
    return run_listener(argv[2], argv[3], argv[4], argv[5]);
  }
  if (strcmp(verb, "connect") == 0 || strcmp(verb, "sendto") == 0) {
    if (argc > 6) return usage();
    return run_probe(verb, argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
  }
  return usage();
}
