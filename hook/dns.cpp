// SPDX-License-Identifier: Apache-2.0
#include "hook/dns.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "hook/fd.hpp"
#include "hook/logging.hpp"
#include "oci/error.hpp"
#include "oci/file.hpp"

namespace ojh {
namespace {

constexpr std::size_t kMaxResolvConfBytes = 64 * 1024;

// <root>/etc/resolv.conf with every symlink resolved as if <root> were "/".
std::string read_in_root(const std::string& root) {
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw Error("open container root " + root, errno);
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  Fd file(
      static_cast<int>(::syscall(SYS_openat2, dir.get(), "etc/resolv.conf", &how, sizeof(how))));
  if (!file) throw Error("open " + root + "/etc/resolv.conf", errno);
  return read_fd_bounded(file.get(), kMaxResolvConfBytes, root + "/etc/resolv.conf");
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

std::vector<Exception> dns_exceptions(const BundleConfig& config, const std::string& bundle_dir) {
  std::string text;
  try {
    if (config.resolv_conf_source) {
      text = read_file_bounded(*config.resolv_conf_source, kMaxResolvConfBytes);
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
