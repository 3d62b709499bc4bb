// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>

namespace ojh {

// Reads fd to EOF. Stops as soon as more than max_bytes arrive, so a hostile writer cannot
// make us buffer without bound. Errors: Error("read <what>", errno) when read() fails,
// Error("<what> larger than <max_bytes> bytes") when the input is too large.
std::string read_fd_bounded(int fd, std::size_t max_bytes, const std::string& what);

// read_fd_bounded on a freshly opened path (also works for /proc files, whose size is 0).
// Opening fails with Error("read <path>", errno).
std::string read_file_bounded(const std::string& path, std::size_t max_bytes);

// The state JSON a runtime writes to a hook's stdin (`fd`), to EOF, at most kMaxStateBytes.
std::string read_state_text(int fd);

}  // namespace ojh
