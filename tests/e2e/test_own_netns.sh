#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A container with a network namespace of its own (ojh-c-PID, veth to the fake host) must not
# reach any address of its host: the fake host's veth addresses (v4, v6 and link-local with a
# scope id), the metadata addresses 169.254.169.254 and fd00:ec2::254, and slirp4netns' host
# address 10.0.2.2 — while its own loopback keeps working (127.0.0.1 there is the container's,
# not the host's). Without the annotation the same probes reach the fake host.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_runc_view "$@"

PORT=18081
OWN_PORT=19000
# Listener address on the fake host, and the same destination as the container names it.
HOST_ADDRS=("$E2E_HOST_V4" "$E2E_HOST_V6" "$E2E_META_V4" "$E2E_META_V6" "$E2E_SLIRP_V4"
  "$E2E_HOST_LL%vh")
CT_DESTS=("$E2E_HOST_V4" "$E2E_HOST_V6" "$E2E_META_V4" "$E2E_META_V6" "$E2E_SLIRP_V4"
  "$E2E_HOST_LL%vc")
HOST_METHODS=("connect tcp" "sendto udp")
# The container's own loopback, served by listeners the container starts itself.
OWN_PROBES=("connect tcp 127.0.0.1" "connect tcp ::1" "sendto udp 127.0.0.1" "connect udp ::1")

declare -A LOG
for i in "${!HOST_ADDRS[@]}"; do
  for proto in tcp udp; do
    e2e_listen "$E2E_HOST_NETNS" "$proto" "${HOST_ADDRS[i]}" "$PORT"
    LOG[$proto-$i]=$E2E_LISTEN_LOG
  done
done

container_script() {  # RUN
  local run=$1 i method probe
  echo "echo container-started"
  e2e_sh_own_listeners "$OWN_PORT" "tcp 127.0.0.1" "tcp ::1" "udp 127.0.0.1" "udp ::1"
  for i in "${!CT_DESTS[@]}"; do
    for method in "${HOST_METHODS[@]}"; do
      echo "jail-probe $method ${CT_DESTS[i]} $PORT '$run/$method/${CT_DESTS[i]}' || true"
    done
  done
  for probe in "${OWN_PROBES[@]}"; do
    echo "jail-probe $probe $OWN_PORT '$run/own/$probe' || true"
  done
  e2e_sh_own_log 0.5
  echo "echo container-done"
}

run_case() {  # RUN ANNOTATION EXPECT(reached|blocked)
  local run=$1 annotation=$2 expect=$3 out own_log i method probe verdict arrive=yes
  out=$E2E_RUN_DIR/$run.out
  own_log=$E2E_RUN_DIR/$run.own.log
  e2e_make_bundle "ownnet-$run" own "$annotation" "$(container_script "$run")"
  e2e_bundle_wire_hooks
  e2e_run_to_end "$run" "ojh-on-$$-$run"

  for i in "${!HOST_ADDRS[@]}"; do
    for proto in tcp udp; do
      e2e_listener_barrier "$E2E_HOST_NETNS" "$proto" "${HOST_ADDRS[i]}" "$PORT" "${LOG[$proto-$i]}"
    done
  done
  verdict="reached"
  if [[ $expect == blocked ]]; then
    verdict="blocked EPERM"
    arrive=no
  fi
  for i in "${!CT_DESTS[@]}"; do
    for method in "${HOST_METHODS[@]}"; do
      e2e_expect_line "$out" "$method ${CT_DESTS[i]} $PORT: $verdict" \
        "$run: $method ${CT_DESTS[i]} → $verdict"
      e2e_expect_arrival "${LOG[${method#* }-$i]}" "$run/$method/${CT_DESTS[i]}" "$arrive" \
        "$run: $method ${CT_DESTS[i]}"
    done
  done

  e2e_own_log "$out" "$own_log"
  for probe in "${OWN_PROBES[@]}"; do
    e2e_expect_line "$out" "$probe $OWN_PORT: reached" "$run: own loopback $probe → reached"
    e2e_expect_arrival "$own_log" "$run/own/$probe" yes "$run: own loopback $probe"
  done
}

run_case no-annotation - reached
run_case annotation-true true blocked

e2e_finish
