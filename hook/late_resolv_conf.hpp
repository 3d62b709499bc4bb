// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hook/pin_dir.hpp"
#include "oci/policy.hpp"

namespace ojh {

// podman 5 writes the resolv.conf it bind-mounts into a container (in its run root) after
// the createRuntime hooks, once the network is up, and before the container starts: at
// create-runtime the file is empty or missing, and the container's nameservers (aardvark-dns
// on its network's gateway, a host address) are not known yet.
//
// Follows that file from a detached child process, for at most `seconds`: once it names
// nameservers, `admit` filters their exceptions (the admin config's trust rules) and they
// are added to the container's policy under the pin directory's lock, if the entry of
// cgroup `cgroup_id` still exists. Until then DNS to those addresses is refused like the
// rest of the host: late, never open. The hook itself returns at once; the child holds
// none of the runtime's pipes.
void follow_late_resolv_conf(
    const PinDir& pins, const std::string& container_id, std::uint64_t cgroup_id,
    std::function<std::vector<Exception>()> read_exceptions,
    std::function<std::vector<Exception>(const std::vector<Exception>&)> admit, int seconds);

}  // namespace ojh
