// SPDX-License-Identifier: Apache-2.0
#include "hook/logging.hpp"

#include <bpf/libbpf.h>
#include <syslog.h>

#include <cstdarg>
#include <cstdio>

namespace ojh {
namespace {

bool g_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  // libbpf's output (verifier logs, feature probes) only matters when diagnosing; the
  // failure itself reaches the user as our one-line error.
  (void)level;
  if (!g_verbose) return 0;
  return std::vfprintf(stderr, fmt, args);
}

std::string prefixed(const std::string& id, const std::string& message) {
  return id.empty() ? message : "container " + id + ": " + message;
}

}  // namespace

void log_init(bool verbose, LogLevel level) {
  g_verbose = verbose;
  ::openlog("oci-jail-hook", LOG_PID | LOG_NDELAY, LOG_DAEMON);
  const int max = level == LogLevel::Error     ? LOG_ERR
                  : level == LogLevel::Warning ? LOG_WARNING
                  : level == LogLevel::Info    ? LOG_INFO
                                               : LOG_DEBUG;
  ::setlogmask(LOG_UPTO(max));
  libbpf_set_print(libbpf_print);
}

void log_info(const std::string& container_id, const std::string& message) {
  const std::string line = prefixed(container_id, message);
  ::syslog(LOG_INFO, "%s", line.c_str());
  if (g_verbose) std::fprintf(stderr, "oci-jail-hook: %s\n", line.c_str());
}

void log_error(const std::string& container_id, const std::string& message) {
  const std::string line = prefixed(container_id, message);
  ::syslog(LOG_ERR, "%s", line.c_str());
  std::fprintf(stderr, "oci-jail-hook: %s\n", line.c_str());
}

void log_debug(const std::string& message) {
  ::syslog(LOG_DEBUG, "%s", message.c_str());
  if (g_verbose) std::fprintf(stderr, "oci-jail-hook: %s\n", message.c_str());
}

}  // namespace ojh
