// SPDX-License-Identifier: Apache-2.0
#include "hook/address_watch.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <string>

#include "oci/error.hpp"

namespace ojh {
namespace {

std::string lock_path(const PinDir& pins) { return pins.version_dir() + "/watch"; }

}  // namespace

Fd claim_address_watch(const PinDir& pins) {
  const std::string path = lock_path(pins);
  make_private_dir(path);
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw Error("open " + path, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      throw Error("another `oci-jail-hook watch` is running for " + pins.root());
    throw Error("lock " + path, errno);
  }
  return fd;
}

bool address_watch_running(const PinDir& pins) {
  Fd fd(::open(lock_path(pins).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;  // never started on this boot
  return ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

}  // namespace ojh
