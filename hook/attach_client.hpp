// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include "hook/commands.hpp"
#include "oci/attach_request.hpp"

namespace ojh {

// Runs `request` in the attach service for the calling user (a rootless runtime's hook,
// or a user's status or gc), passing a pidfd of `container_pid` along when it is not 0,
// and reproduces what the service's run printed; returns its exit status. No service, or
// one that does not answer, is an ojh::Error saying what the admin has to do: the
// container is then not created.
int run_through_attach_service(const Options& opts, const AttachRequest& request,
                               pid_t container_pid = 0);

}  // namespace ojh
