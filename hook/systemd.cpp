// SPDX-License-Identifier: Apache-2.0
#include "hook/systemd.hpp"

#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdlib>
#include <string>

#include "oci/error.hpp"

namespace ojh {
namespace {

// What the environment promises libsystemd is present for (NOTIFY_SOCKET, LISTEN_FDS).
void* libsystemd(const char* why) {
  static void* lib = nullptr;
  if (lib) return lib;
  lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw Error(std::string(why) + " is set but libsystemd cannot be loaded: " + ::dlerror());
  return lib;
}

template <typename F>
F symbol(void* lib, const char* name) {
  const auto f = reinterpret_cast<F>(::dlsym(lib, name));
  if (!f) throw Error(std::string("libsystemd has no ") + name);
  return f;
}

}  // namespace

bool journal_send(const std::vector<std::string>& fields) {
  using SendV = int (*)(const struct iovec*, int);
  static const SendV sendv = []() -> SendV {
    void* lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    return lib ? reinterpret_cast<SendV>(::dlsym(lib, "sd_journal_sendv")) : nullptr;
  }();
  if (!sendv) return false;
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const std::string& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
  return sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

void notify_systemd_ready() {
  if (!::getenv("NOTIFY_SOCKET")) return;
  const auto sd_notify =
      symbol<int (*)(int, const char*)>(libsystemd("NOTIFY_SOCKET"), "sd_notify");
  if (sd_notify(0, "READY=1") < 0) throw Error("tell systemd the service is ready");
}

std::optional<Fd> socket_from_systemd() {
  if (!::getenv("LISTEN_FDS")) return std::nullopt;
  void* lib = libsystemd("LISTEN_FDS");
  const auto sd_listen_fds = symbol<int (*)(int)>(lib, "sd_listen_fds");
  const auto sd_is_socket_unix =
      symbol<int (*)(int, int, int, const char*, size_t)>(lib, "sd_is_socket_unix");
  // Unsets the variables: a child (a refresh, a late resolv.conf follower) is not the
  // socket's owner.
  const int n = sd_listen_fds(1);
  if (n < 0) throw Error("read the sockets systemd passed", -n);
  if (n == 0) return std::nullopt;
  constexpr int kFirst = 3;  // SD_LISTEN_FDS_START
  if (n > 1) throw Error("systemd passed " + std::to_string(n) + " sockets; expected one");
  // A stream socket listening on a path: anything else is a unit that is not ours.
  if (sd_is_socket_unix(kFirst, SOCK_STREAM, 1, nullptr, 0) <= 0)
    throw Error("the socket systemd passed is not a listening Unix stream socket");
  return Fd(kFirst);
}

}  // namespace ojh
