// SPDX-License-Identifier: Apache-2.0
#include "hook/process.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>

#include "hook/file.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  // Fields 3, 4, ... follow, one space before each; field 22 is the 20th of them.
  ProcStat stat;
  for (int field = 3; field <= 22; ++field) {
    if (rest.empty() || rest.front() != ' ') return std::nullopt;
    rest.remove_prefix(1);
    const auto end = std::min(rest.find(' '), rest.size());
    const std::string_view value = rest.substr(0, end);
    if (field == 3) {
      if (value.size() != 1) return std::nullopt;
      stat.state = value.front();
    } else if (field == 22) {
      const auto start = parse_number<std::uint64_t>(value);
      if (!start) return std::nullopt;
      stat.start_time = *start;
    }
    rest.remove_prefix(end);
  }
  return stat;
}

std::optional<ProcessRef> running_process(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string text;
  try {
    text = read_file_bounded("/proc/" + std::to_string(pid) + "/stat", 4096);
  } catch (const Error& e) {
    if (e.code() == ENOENT || e.code() == ESRCH) return std::nullopt;
    throw;
  }
  const auto stat = parse_proc_stat(text);
  if (!stat) throw Error("/proc/" + std::to_string(pid) + "/stat: unexpected format");
  if (stat->state == 'Z' || stat->state == 'X') return std::nullopt;
  return ProcessRef{pid, stat->start_time};
}

bool still_running(const ProcessRef& process) {
  const auto now = running_process(process.pid);
  return now && now->start_time == process.start_time;
}

std::string format_process_ref(const ProcessRef& process) {
  return std::to_string(process.pid) + ":" + std::to_string(process.start_time);
}

std::optional<ProcessRef> parse_process_ref(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto pid = parse_number<pid_t>(text.substr(0, colon));
  const auto start = parse_number<std::uint64_t>(text.substr(colon + 1));
  if (!pid || *pid <= 0 || !start) return std::nullopt;
  return ProcessRef{*pid, *start};
}

Fd open_pidfd(pid_t pid) {
  Fd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) throw Error("open a pidfd of process " + std::to_string(pid), errno);
  return fd;
}

std::optional<pid_t> parse_pidfd_fdinfo(std::string_view fdinfo) {
  constexpr std::string_view kKey = "Pid:";
  while (!fdinfo.empty()) {
    const std::size_t eol = fdinfo.find('\n');
    std::string_view line = fdinfo.substr(0, eol);
    fdinfo.remove_prefix(eol == std::string_view::npos ? fdinfo.size() : eol + 1);
    if (!line.starts_with(kKey)) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
    long long pid = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec != std::errc() || end != line.data() + line.size() || pid <= 0 || pid > INT32_MAX)
      return std::nullopt;
    return static_cast<pid_t>(pid);
  }
  return std::nullopt;
}

pid_t pidfd_pid(int pidfd) {
  const std::string fdinfo = read_file_bounded("/proc/self/fdinfo/" + std::to_string(pidfd), 4096);
  const auto pid = parse_pidfd_fdinfo(fdinfo);
  if (!pid)
    throw Error(fdinfo.find("Pid:") == std::string::npos
                    ? "the descriptor passed is not a pidfd"
                    : "the container's process has exited or is in a pid namespace the "
                      "service cannot see");
  return *pid;
}

bool pidfd_exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  int n;
  do n = ::poll(&p, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw Error("poll a pidfd", errno);
  return n > 0;
}

}  // namespace ojh
