// SPDX-License-Identifier: Apache-2.0
#include "hook/dns.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "hook/fd.hpp"
#include "hook/file.hpp"
#include "hook/logging.hpp"
#include "hook/regular_file.hpp"
#include "oci/error.hpp"

namespace ojh {

namespace {
constexpr std::size_t kMaxHostResolvConfBytes = 64 * 1024;
}  // namespace
namespace {

constexpr std::size_t kMaxResolvConfBytes = 64 * 1024;

// <root>/etc/resolv.conf with every symlink resolved as if <root> were "/".
std::string read_in_root(const std::string& root) {
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw Error("open container root " + root, errno);
  open_how how{};
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return read_regular_file(dir.get(), "etc/resolv.conf", how, root + "/etc/resolv.conf",
                           kMaxResolvConfBytes);
}

}  // namespace

std::vector<Exception> dns_exceptions_for(const std::vector<AddressBytes>& nameservers) {
  std::vector<Exception> out;
  for (const AddressBytes& ns : nameservers) {
    for (int protocol : {IPPROTO_UDP, IPPROTO_TCP}) {
      Exception e{};
      e.protocol = protocol;
      e.address = ns;
      e.port = 53;
      out.push_back(e);
    }
  }
  return out;
}

std::vector<Exception> dns_exceptions(const BundleConfig& config, const std::string& bundle_dir,
                                      std::optional<uid_t> owner) {
  std::string text;
  try {
    if (config.resolv_conf_source) {
      // The runtime's own file (podman's, CRI-O's), in its mount namespace.
      text = read_named_regular_file(*config.resolv_conf_source, kMaxResolvConfBytes, owner);
    } else if (owner) {
      log_debug(
          "no DNS exception: a rootless container's resolv.conf is read only from the "
          "runtime's bind mount");
      return {};
    } else if (const auto root = container_root_dir(config, bundle_dir)) {
      text = read_in_root(*root);
    }
  } catch (const Error& e) {
    log_debug(std::string("no DNS exception: ") + e.what());
    return {};
  }
  return dns_exceptions_for(parse_resolv_conf_nameservers(text));
}

std::vector<AddressBytes> read_host_nameservers(const std::string& path) {
  // Fewer trusted nameservers only close port 53, so every failure is "none".
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  try {
    return parse_resolv_conf_nameservers(read_fd_bounded(fd, kMaxHostResolvConfBytes, path));
  } catch (const Error&) {
    return {};
  }
}

}  // namespace ojh
