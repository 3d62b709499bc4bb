#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Rootful podman with --network=host: the container shares the guest's network namespace,
# so the host's loopback is a way out too. Enforced: 127.0.0.1, ::1, v4-mapped
# ::ffff:127.0.0.1, the dummy "uplink" v4 and v6, 169.254.169.254 and 169.254.1.2 are
# refused with EPERM over TCP and UDP. The control reaches every one of them.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ADDRS="127.0.0.1 ::1 ::ffff:127.0.0.1 $DUMMY_V4 $DUMMY_V6 $METADATA $PASTA_HOST"

host_network_enforced() { enforced_run crun-host no "$ADDRS" --network=host; }
host_network_control() { control_run host-control no "$ADDRS" --network=host; }

scenario "podman crun, --network=host: host loopback and addresses refused with EPERM (TCP, UDP), released after run --rm" host_network_enforced
scenario "podman crun, --network=host, no annotation (control): the same addresses reached" host_network_control
