// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "oci/admin_config.hpp"

namespace ojh {

// Reads and parses `path`. The file must be a regular file owned by root and not writable
// by group or others (a config anyone could edit would hand them every container). A
// missing file is the default configuration only when `required` is false.
AdminConfig load_admin_config(const std::string& path, bool required);

// enforce-all of the file at `path`, for a hook that runs inside a user namespace (rootless
// podman): there the owner cannot be verified (root shows as the overflow uid), so nothing
// that could weaken protection is taken from the file — only enforce-all, which can only
// make the hook refuse more. A file that is missing or cannot be opened gives false; one that
// does not parse is an ojh::Error, as it is outside.
bool load_enforce_all_unverified(const std::string& path);

}  // namespace ojh
