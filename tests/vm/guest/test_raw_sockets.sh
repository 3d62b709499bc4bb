#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Raw sockets where the BPF LSM is active (issue 13): a container given CAP_NET_RAW (as
# Docker and containerd do by default) is no longer refused; the lsm_cgroup/socket_create
# program refuses its packet and raw IP sockets at socket() with EPERM, and nothing arrives
# at the listeners. `status --json` says "raw_sockets": "lsm". The control (no annotation)
# opens the same sockets and reaches the host.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

raw_probes() {
  printf '%s\n' "packet-udp lo 127.0.0.1 $PORT $1/packet" "raw-udp-hdrincl 127.0.0.1 $PORT $1/hdrincl" \
    "raw-udp $DUMMY_V4 $PORT $1/raw-udp" "ping $DUMMY_V4 $1/ping"
}

# raw_line TAG SPEC — the probe's line for SPEC (its words but the last, the listener tag):
# probe_line takes four words, and these probes have two to four.
raw_line() { grep -F -- "${2% *}: " "$STATE/$1.out" | head -n 1; }

raw_sockets_enforced() {
  local tag=raw-lsm probes spec line status
  status=$("$HOOK" status --json)
  if [[ $status != *'"bpf_lsm":true'* || $status != *'"raw_sockets":"lsm"'* ]]; then
    fail "$tag: status --json does not say the BPF LSM refuses raw sockets: $status"
    return 0
  fi
  mapfile -t probes < <(raw_probes "$tag")
  probes_run "$tag" "${ENFORCE[@]}" --network=host --cap-add NET_RAW -- "${probes[@]}" || return 0
  for spec in "${probes[@]}"; do
    line=$(raw_line "$tag" "$spec")
    if [[ $line != *": error EPERM (socket)"* ]]; then
      fail "$tag: ${spec% *}: socket() should fail with EPERM, got: ${line:-no result}"
    elif arrived "${spec##* }"; then
      fail "$tag: ${spec% *} was refused, yet the listener logged it"
    fi
  done
}

raw_sockets_control() {
  local tag=raw-control probes spec line
  mapfile -t probes < <(raw_probes "$tag")
  probes_run "$tag" --network=host --cap-add NET_RAW -- "${probes[@]}" || return 0
  for spec in "${probes[@]}"; do
    line=$(raw_line "$tag" "$spec")
    [[ -z $line ]] && fail "$tag: ${spec% *}: no result"
    [[ $line == *": error "*"(socket)"* ]] && fail "$tag: ${spec% *}: socket() failed: $line"
  done
  return 0
}

scenario "podman crun, --network=host --cap-add NET_RAW, enforced: accepted, packet and raw sockets refused with EPERM by the BPF LSM" raw_sockets_enforced
scenario "podman crun, --network=host --cap-add NET_RAW, no annotation (control): packet and raw sockets open" raw_sockets_control
