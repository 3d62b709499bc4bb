#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The podman options that change where the container's cgroup is, who its runtime is, or
# in which user namespace it runs — each enforced on the default bridge as in
# test_podman_bridge.sh (fewer addresses: the full list runs there once):
#   --runtime runc             runc's cgroup handling instead of crun's
#   --userns=auto              a user namespace from the "containers" subordinate ids
#   --cgroups=split            the container below podman's own cgroup (this service's)
#   --cgroup-manager=cgroupfs  podman makes the cgroups itself, no systemd scope
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

GATEWAY=$(gateway podman 4)
ADDRS="$DUMMY_V4 $DUMMY_V6 $GATEWAY $METADATA"

runc_enforced() {
  # shellcheck disable=SC2034  # read by probes_run
  local PODMAN_OPTS=(--runtime runc)
  enforced_run runc-bridge own "$ADDRS"
}
userns_auto_enforced() { enforced_run userns-auto own "$ADDRS" --userns=auto; }
cgroups_split_enforced() { enforced_run cgroups-split own "$ADDRS" --cgroups=split; }
cgroupfs_enforced() {
  # shellcheck disable=SC2034  # read by probes_run
  local PODMAN_OPTS=(--cgroup-manager=cgroupfs)
  enforced_run cgroupfs own "$ADDRS"
}

scenario "podman --runtime runc, default bridge: host addresses refused with EPERM, own loopback works, released" runc_enforced
scenario "podman crun --userns=auto, default bridge: host addresses refused with EPERM, own loopback works, released" userns_auto_enforced
scenario "podman crun --cgroups=split, default bridge: host addresses refused with EPERM, own loopback works, released" cgroups_split_enforced
scenario "podman crun --cgroup-manager=cgroupfs, default bridge: host addresses refused with EPERM, own loopback works, released" cgroupfs_enforced
