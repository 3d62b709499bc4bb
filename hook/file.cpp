// SPDX-License-Identifier: Apache-2.0
#include "hook/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "oci/error.hpp"
#include "oci/state.hpp"

namespace ojh {

std::string read_fd_bounded(int fd, std::size_t max_bytes, const std::string& what) {
  std::string data;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("read " + what, errno);
    }
    if (n == 0) return data;
    if (static_cast<std::size_t>(n) > max_bytes - data.size()) {
      throw Error(what + " larger than " + std::to_string(max_bytes) + " bytes");
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
}

std::string read_file_bounded(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("read " + path, errno);
  try {
    std::string data = read_fd_bounded(fd, max_bytes, path);
    ::close(fd);
    return data;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

std::string read_state_text(int fd) { return read_fd_bounded(fd, kMaxStateBytes, "state JSON"); }

}  // namespace ojh
