// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

namespace ojh {

// Whether /proc/self/uid_map describes the initial user namespace ("0 0 4294967295").
// Rootless podman runs hooks inside its user namespace, where root is not root to the
// kernel's BPF and cgroup checks.
bool is_initial_user_namespace(std::string_view uid_map);

}  // namespace ojh
