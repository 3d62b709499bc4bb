#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Name resolution in an enforced container on a user-created, dual-stack podman network:
# aardvark-dns answers on the network's gateway — a host address the hook otherwise
# refuses — so the container's own nameserver must stay reachable while the rest of the
# host does not. An enforced container resolves a peer container's name and gets EPERM
# for the gateways (v4 and v6, TCP and UDP, port $PORT) and the dummy "uplink"; the control
# resolves too and reaches all of it, IPv6 through the bridge included.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

NET=ojh-dns
PEER=ojh-peer
run_logged podman network create --ipv6 "$NET"
run_logged podman run -d --name "$PEER" --network "$NET" "$IMAGE" sleep 600
PEER_IP=$(podman inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$PEER")
ADDRS="$(gateway "$NET" 4) $(gateway "$NET" 6) $DUMMY_V4 $DUMMY_V6"
log "network $NET: gateways and addresses probed: $ADDRS; peer $PEER at $PEER_IP"

dns_enforced() {
  local before probes
  before=$(hook_state)
  read -ra addrs <<<"$ADDRS"
  mapfile -t probes < <(host_probes dns-enforced "${addrs[@]}")
  probes_run dns-enforced "${ENFORCE[@]}" --network "$NET" -- "${probes[@]}" "resolve $PEER" || return 0
  expect_resolved dns-enforced "$PEER" "$PEER_IP"
  expect_blocked dns-enforced "${probes[@]}"
  expect_released dns-enforced "$before"
}

dns_control() {
  local probes
  read -ra addrs <<<"$ADDRS"
  mapfile -t probes < <(host_probes dns-control "${addrs[@]}")
  probes_run dns-control --network "$NET" -- "${probes[@]}" "resolve $PEER" || return 0
  expect_resolved dns-control "$PEER" "$PEER_IP"
  expect_reached dns-control "${probes[@]}"
}

scenario "podman crun, dual-stack network with aardvark-dns: an enforced container resolves a peer's name; gateways v4/v6 refused with EPERM" dns_enforced
scenario "podman crun, dual-stack network, no annotation (control): the peer resolves, gateways v4/v6 and the uplink reached" dns_control

run_logged podman rm -f -t 0 "$PEER" >/dev/null
run_logged podman network rm "$NET" >/dev/null
