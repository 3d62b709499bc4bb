// SPDX-License-Identifier: Apache-2.0
#include "hook/regular_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "hook/fd.hpp"
#include "hook/file.hpp"
#include "oci/error.hpp"

namespace ojh {

std::string read_regular_file(int dir, const char* path, open_how how, const std::string& what,
                              std::size_t max_bytes, std::optional<uid_t> owner) {
  how.flags |= O_PATH | O_CLOEXEC;
  Fd handle(static_cast<int>(::syscall(SYS_openat2, dir, path, &how, sizeof(how))));
  if (!handle) throw Error("open " + what, errno);
  struct stat st {};
  if (::fstat(handle.get(), &st) != 0) throw Error("stat " + what, errno);
  if (!S_ISREG(st.st_mode)) throw Error(what + " is not a regular file");
  if (owner && st.st_uid != *owner)
    throw Error(what + " belongs to uid " + std::to_string(st.st_uid) + ", not to uid " +
                std::to_string(*owner));
  const std::string reopen = "/proc/self/fd/" + std::to_string(handle.get());
  Fd file(::open(reopen.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file) throw Error("open " + what, errno);
  return read_fd_bounded(file.get(), max_bytes, what);
}

std::string read_named_regular_file(const std::string& path, std::size_t max_bytes,
                                    std::optional<uid_t> owner) {
  open_how how{};
  how.flags = O_NOFOLLOW;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  return read_regular_file(AT_FDCWD, path.c_str(), how, path, max_bytes, owner);
}

BundleConfig read_bundle_config(const std::string& bundle_dir, std::optional<uid_t> owner) {
  if (bundle_dir.empty() || bundle_dir.front() != '/')
    throw Error("the state's bundle must be an absolute path");
  return parse_bundle_config(
      read_named_regular_file(bundle_dir + "/config.json", kMaxConfigBytes, owner));
}

}  // namespace ojh
