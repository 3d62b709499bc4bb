// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "oci/annotations.hpp"

namespace ojh {

// The OCI runtime-spec "State" a runtime writes to a hook's stdin. Runtimes differ: runc
// sends status "creating" at createRuntime, crun "created" with pid 0 at createContainer,
// podman's poststop "stopped" without pid; unknown keys (crun's "root", "created",
// "owner") are ignored.
struct State {
  std::string oci_version;
  std::string id;      // validated by is_valid_container_id
  std::string status;  // "creating", "created", "running" or "stopped"
  std::string bundle;  // "" when absent
  pid_t pid = 0;       // 0 when absent
  Annotations annotations;
};

// Room for Kubernetes-sized annotation sets; the same bound as config.json.
inline constexpr std::size_t kMaxStateBytes = 4 * 1024 * 1024;
inline constexpr unsigned kMaxStateDepth = 32;

// Throws ojh::Error ("state JSON: ...") for anything that is not a well-formed state.
State parse_state(std::string_view json);

// The id becomes a bpffs path component: 1-128 chars of [A-Za-z0-9_.+-], the first one
// alphanumeric (which also excludes "." and "..").
bool is_valid_container_id(std::string_view id);

}  // namespace ojh
