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
#include "hook/logging.hpp"
#include "hook/regular_file.hpp"
#include "oci/error.hpp"
#include "oci/file.hpp"

namespace ojh {
namespace {

constexpr std::size_t kMaxResolvConfBytes = 64 * 1024;

// The source of the runtime's bind mount onto /etc/resolv.conf: a path in the runtime's
// mount namespace (podman's and CRI-O's own file). A symlink in its last component is not
// followed, nor a magic link anywhere (/proc/<pid>/root/...), so a directory that someone
// else can write cannot point the hook at another file.
std::string read_mount_source(const std::string& source, std::optional<uid_t> owner) {
  open_how how{};
  how.flags = O_NOFOLLOW;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  return read_regular_file(AT_FDCWD, source.c_str(), how, source, kMaxResolvConfBytes, owner);
}

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
      text = read_mount_source(*config.resolv_conf_source, owner);
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

}  // namespace ojh
