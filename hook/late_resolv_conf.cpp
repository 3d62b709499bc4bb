// SPDX-License-Identifier: Apache-2.0
#include "hook/late_resolv_conf.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "hook/exception_map.hpp"
#include "hook/logging.hpp"
#include "hook/shared_objects.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

bool entry_exists(const PinDir& pins, std::uint64_t cgroup_id) {
  struct stat st {};
  return ::lstat(pins.entry_dir(cgroup_id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The child: polls the file, adds what it finds, exits. Never returns.
[[noreturn]] void follow(
    const PinDir& pins, const std::string& id, std::uint64_t cgroup_id,
    const std::function<std::vector<Exception>()>& read_exceptions,
    const std::function<std::vector<Exception>(const std::vector<Exception>&)>& admit,
    int seconds) {
  int rc = 1;
  try {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::vector<Exception> found;
    while ((found = read_exceptions()).empty()) {
      if (std::chrono::steady_clock::now() > deadline) {
        log_info(id, "resolv.conf named no nameserver within " + std::to_string(seconds) +
                         " s: no DNS exception");
        ::_exit(0);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const std::vector<Exception> admitted = admit(found);
    const Fd lock = pins.lock_exclusive();
    SharedObjects objs;
    // Released (or re-created) in the meantime: nothing of this instance to extend.
    if (admitted.empty() || !entry_exists(pins, cgroup_id) ||
        !SharedObjects::open_existing(pins, objs))
      ::_exit(0);
    ExceptionMap(objs.allow.get()).insert(cgroup_id, admitted);
    log_info(id, "resolv.conf written after create-runtime: " + std::to_string(admitted.size()) +
                     " DNS exceptions added");
    rc = 0;
  } catch (const Error& e) {
    log_error(id, std::string("adding the DNS exceptions of a late resolv.conf: ") + e.what());
  }
  ::_exit(rc);
}

}  // namespace

void follow_late_resolv_conf(
    const PinDir& pins, const std::string& container_id, std::uint64_t cgroup_id,
    std::function<std::vector<Exception>()> read_exceptions,
    std::function<std::vector<Exception>(const std::vector<Exception>&)> admit, int seconds) {
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("fork a follower of the container's resolv.conf", errno);
  if (pid > 0) return;
  // A session of its own, and none of the runtime's pipes: runc and crun wait until every
  // writer of the hook's stdout and stderr has closed them.
  ::setsid();
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::dup2(null, fd);
  }
  // Nor any other descriptor: the attach service's client waits for the end of its
  // connection, which a copy held here would delay by the whole follow.
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  follow(pins, container_id, cgroup_id, read_exceptions, admit, seconds);
}

}  // namespace ojh
