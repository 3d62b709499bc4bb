#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Rootful podman as a trixie host runs it: the systemd cgroup manager, netavark's default
# bridge network "podman", crun, the hook found in /usr/share/containers/oci/hooks.d.
# An enforced container gets EPERM for every host address it can route to — the dummy
# "uplink" v4 and v6, the bridge gateway, 169.254.169.254 and pasta's 169.254.1.2 — over
# TCP and UDP, while its own loopback works; after `podman run --rm` nothing of it is left.
# The control, without the annotation, reaches the same addresses, which proves the probes.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# The default network's bridge is made on first use; its gateway is in its definition.
GATEWAY=$(gateway podman 4)

crun_bridge_enforced() {
  enforced_run crun-bridge own "$DUMMY_V4 $DUMMY_V6 $GATEWAY $METADATA $PASTA_HOST"
}

# No IPv6 on the default network: a v6 probe would fail for want of a route, so the control
# leaves it out (test_podman_dns.sh proves v6 on a dual-stack network).
crun_bridge_control() {
  control_run bridge-control own "$DUMMY_V4 $GATEWAY $METADATA $PASTA_HOST"
}

scenario "podman crun, default bridge: host addresses refused with EPERM (TCP, UDP), own loopback works, released after run --rm" crun_bridge_enforced
scenario "podman crun, default bridge, no annotation (control): the same addresses reached" crun_bridge_control
