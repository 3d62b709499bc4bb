// SPDX-License-Identifier: Apache-2.0
#include "tests/bpf/sandbox.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "hook/pin_dir.hpp"
#include "oci/cgroup.hpp"
#include "oci/file.hpp"

namespace ojh::test {
namespace {

std::string cgroup2_mount_point() {
  const auto mount = find_cgroup2_mount(read_file_bounded("/proc/self/mountinfo", 16 << 20));
  return mount ? mount->mount_point : "";
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error("write " + path);
}

void remove_cgroup_tree(const std::string& path) {
  for (const std::string& name : list_dir(path)) {
    struct stat st {};
    const std::string child = path + "/" + name;
    if (::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_cgroup_tree(child);
  }
  ::rmdir(path.c_str());
}

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

std::string why_unsupported() {
  if (::geteuid() != 0) return "needs root (cgroup BPF attach)";
  if (cgroup2_mount_point().empty()) return "no cgroup2 hierarchy mounted";
  std::ifstream fs("/proc/filesystems");
  std::stringstream text;
  text << fs.rdbuf();
  if (text.str().find("\tbpf\n") == std::string::npos) return "kernel has no bpffs";
  return "";
}

Sandbox::Sandbox() {
  root_ = cgroup2_mount_point() + "/ojh-bpftest-" + std::to_string(::getpid());
  if (::mkdir(root_.c_str(), 0755) != 0 && errno != EEXIST)
    throw std::runtime_error("mkdir " + root_ + ": " + std::strerror(errno));
  char tmpl[] = "/tmp/ojh-bpffs-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
  bpffs_ = tmpl;
  // The hook mounts bpffs on the pin directory's parent when it is not one yet; the test
  // binary runs in a private mount namespace (see tests/bpf/CMakeLists.txt).
  pin_dir_ = bpffs_ + "/pins";
}

Sandbox::~Sandbox() {
  ::umount2(bpffs_.c_str(), MNT_DETACH);
  ::rmdir(bpffs_.c_str());
  remove_cgroup_tree(root_);
}

std::string Sandbox::make_cgroup(const std::string& rel) {
  std::string path = root_;
  std::stringstream parts(rel);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    path += "/" + part;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      throw std::runtime_error("mkdir " + path + ": " + std::strerror(errno));
  }
  return path;
}

int run_in_cgroup(const std::string& cgroup_fs_path, bool own_netns,
                  const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    try {
      write_file(cgroup_fs_path + "/cgroup.procs", "0");
      if (own_netns) {
        if (::unshare(CLONE_NEWNET) != 0) ::_exit(120);
        Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
        ifreq ifr{};
        std::strcpy(ifr.ifr_name, "lo");
        ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
        if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) ::_exit(121);
      }
      ::_exit(fn());
    } catch (...) {
      ::_exit(122);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int tcp_connect(const char* addr, int port) { return probe(addr, port, SOCK_STREAM, true); }
int udp_connect_send(const char* addr, int port) { return probe(addr, port, SOCK_DGRAM, true); }
int udp_sendto(const char* addr, int port) { return probe(addr, port, SOCK_DGRAM, false); }

Listener Listener::open(const char* addr) {
  Listener l;
  sockaddr_storage ss;
  socklen_t len;
  if (!parse(addr, 0, ss, len)) throw std::runtime_error("bad listener address");
  l.v6 = ss.ss_family == AF_INET6;
  l.tcp = Fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::bind(l.tcp.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(l.tcp.get(), 64) != 0)
    throw std::runtime_error("listen");
  ::getsockname(l.tcp.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  l.port = ntohs(l.v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                      : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  l.udp = Fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (::bind(l.udp.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    throw std::runtime_error("bind udp");
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
