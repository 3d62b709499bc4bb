// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "oci/admin_config.hpp"

namespace ojh {

// syslog (journald collects it) for operators; stderr only for the one-line failure cause
// that runtimes show to the user, or everything with --verbose.
// `level` is the admin's log-level: messages below it are not sent to syslog.
void log_init(bool verbose, LogLevel level);
void log_info(const std::string& container_id, const std::string& message);
void log_error(const std::string& container_id, const std::string& message);
void log_debug(const std::string& message);

}  // namespace ojh
