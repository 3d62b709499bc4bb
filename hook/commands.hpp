// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "oci/admin_config.hpp"

namespace ojh {

struct Options {
  std::string pin_dir = "/sys/fs/bpf/oci-jail-hook";
  AdminConfig admin;  // the admin's config file; --pin-dir on the command line wins
  bool verbose = false;
  bool json = false;
  bool timing = false;
  bool show_capabilities = false;
};

// Each returns the process exit status and throws ojh::Error for the one-line failure.
// `container_id` is filled in as soon as it is known so the failure line can name it.
int run_create_runtime(const Options& opts, std::string& container_id);
int run_poststop(const Options& opts, std::string& container_id);
int run_status(const Options& opts);
int run_refresh(const Options& opts);
int run_gc(const Options& opts);
int run_watch(const Options& opts);  // returns only by throwing

}  // namespace ojh
