// SPDX-License-Identifier: Apache-2.0
#include "bench/timed_exec.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "oci/error.hpp"

namespace ojh::bench {
namespace {

double now_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

}  // namespace

TimedExec::TimedExec() {
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) throw Error("mmap", errno);
  exec_start_us_ = static_cast<double*>(page);
}

TimedExec::~TimedExec() { ::munmap(exec_start_us_, 4096); }

ExecResult TimedExec::run(const std::vector<std::string>& argv, const std::string& stdin_text,
                          const std::string& join_procs) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw Error("pipe", errno);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("fork", errno);
  if (pid == 0) {
    if (!join_procs.empty()) {
      const int fd = ::open(join_procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(126);
      ::close(fd);
    }
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(in[0], 0);
    ::dup2(null, 1);
    ::dup2(err[1], 2);
    *exec_start_us_ = now_us();
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(err[1]);
  // State documents are far below the pipe's capacity: no need to interleave with reading.
  const bool wrote = stdin_text.empty() || ::write(in[1], stdin_text.data(), stdin_text.size()) ==
                                               static_cast<ssize_t>(stdin_text.size());
  ::close(in[1]);
  ExecResult r;
  char buf[4096];
  for (ssize_t n; (n = ::read(err[0], buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    r.stderr_text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(err[0]);
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw Error("wait4", errno);
  }
  r.wall_us = now_us() - *exec_start_us_;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const auto us = [](const timeval& t) { return t.tv_sec * 1e6 + t.tv_usec; };
  r.cpu_us = us(usage.ru_utime) + us(usage.ru_stime);
  if (!wrote && r.status == 0) r.status = 125;
  return r;
}

}  // namespace ojh::bench
