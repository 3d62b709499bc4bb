// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace ojh {

// syslog (journald collects it) for operators; stderr only for the one-line failure cause
// that runtimes show to the user, or everything with --verbose.
void log_init(bool verbose);
void log_info(const std::string& container_id, const std::string& message);
void log_error(const std::string& container_id, const std::string& message);
void log_debug(const std::string& message);

}  // namespace ojh
