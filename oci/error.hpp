// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>

namespace ojh {

// The one error type of the project: a human-readable context ("attach connect4 to
// /sys/fs/cgroup/x") plus the errno that caused it (0 when the failure is not a syscall's).
// main() turns it into the single line the runtime shows the user.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& context, int err = 0)
      : std::runtime_error(err ? context + ": " + std::strerror(err) : context),
        context_(context),
        errno_(err) {}

  const std::string& context() const noexcept { return context_; }
  int code() const noexcept { return errno_; }

 private:
  std::string context_;
  int errno_;
};

// An Error that says no to the container itself — a limit reached, a cgroup another
// container holds, maps that other containers filled — rather than an environment that
// failed: the admin's fail-open never lets a container run unprotected because of it.
class Refusal : public Error {
 public:
  using Error::Error;
};

}  // namespace ojh
