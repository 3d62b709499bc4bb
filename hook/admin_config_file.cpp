// SPDX-License-Identifier: Apache-2.0
#include "hook/admin_config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "hook/file.hpp"
#include "oci/error.hpp"

namespace ojh {

AdminConfig load_admin_config(const std::string& path, bool required) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT && !required) return AdminConfig{};
    throw Error("open admin config " + path, errno);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error("stat admin config " + path, errno);
  if (!S_ISREG(st.st_mode)) throw Error("admin config " + path + " is not a regular file");
  if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
    throw Error("admin config " + path +
                " must be owned by root and not writable by group or others (refusing it)");
  return parse_admin_config(read_fd_bounded(fd, kMaxAdminConfigBytes, path), path);
}

bool load_enforce_all_unverified(const std::string& path) {
  // O_NONBLOCK: whoever controls this mount namespace could put a FIFO there.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return parse_admin_config(read_fd_bounded(fd, kMaxAdminConfigBytes, path), path).enforce_all;
}

}  // namespace ojh
