// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "hook/pin_dir.hpp"
#include "hook/shared_objects.hpp"

namespace ojh {

// The shared objects of this build, as create-runtime needs them: loaded and published when
// none are, opened when the published ones are this build's, and after an upgrade (objects
// of another build, or of an earlier version that recorded none) replaced by this build's
// while containers keep running: their rules and exceptions are copied into the new maps
// and every live container is moved to the new programs (relink_entries), so no container
// runs old code with new maps, or the reverse. A layout the new maps cannot take (key or
// value sizes changed) while containers still run is a Refusal: they stay enforced by the
// old objects, new containers are refused until they stop. Call with the pin directory
// locked.
SharedObjects open_current_objects(const PinDir& pins, EgressVariant egress = EgressVariant::Auto);

}  // namespace ojh
