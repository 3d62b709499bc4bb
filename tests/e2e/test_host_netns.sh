#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A container that shares its host's network namespace (here: the fake host netns runc runs
# in) must not reach the host's loopback by any path: TCP and UDP, connect and unconnected
# sendto, TCP Fast Open, 127.0.0.1, ::1, the unspecified 0.0.0.0 and ::, and the v4-mapped
# ::ffff:127.0.0.1. The same container without the annotation, or with "false", reaches all.
# Ground truth is both the probe's verdict and whether the host listener logged the arrival.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_runc_view "$@"

PORT=18080
DESTS=(127.0.0.1 ::1 0.0.0.0 :: ::ffff:127.0.0.1)
METHODS=("connect tcp" "connect udp" "sendto udp" "sendto tcp")

# Listener logs by protocol and family; 0.0.0.0 and ::ffff:127.0.0.1 land on 127.0.0.1,
# :: on ::1.
declare -A LOG
for proto in tcp udp; do
  e2e_listen "$E2E_HOST_NETNS" "$proto" 127.0.0.1 "$PORT"
  LOG[$proto-v4]=$E2E_LISTEN_LOG
  e2e_listen "$E2E_HOST_NETNS" "$proto" ::1 "$PORT"
  LOG[$proto-v6]=$E2E_LISTEN_LOG
done

listener_log() {  # PROTO DEST
  case $2 in
    ::1 | ::) echo "${LOG[$1-v6]}" ;;
    *) echo "${LOG[$1-v4]}" ;;
  esac
}

tag() { echo "$1/$2/$3"; }  # RUN "VERB PROTO" DEST

container_script() {  # RUN
  local run=$1 method dest
  echo "echo container-started"
  for dest in "${DESTS[@]}"; do
    for method in "${METHODS[@]}"; do
      echo "jail-probe $method $dest $PORT '$(tag "$run" "$method" "$dest")' || true"
    done
  done
  echo "echo container-done"
}

run_case() {  # RUN ANNOTATION EXPECT(reached|blocked)
  local run=$1 annotation=$2 expect=$3 out method dest verdict
  out=$E2E_RUN_DIR/$run.out
  e2e_make_bundle "hostnet-$run" host "$annotation" "$(container_script "$run")"
  e2e_bundle_wire_hooks
  e2e_run_to_end "$run" "ojh-hn-$$-$run"
  for proto in tcp udp; do
    for family in v4 v6; do
      local addr=127.0.0.1
      [[ $family == v6 ]] && addr=::1
      e2e_listener_barrier "$E2E_HOST_NETNS" "$proto" "$addr" "$PORT" "${LOG[$proto-$family]}"
    done
  done
  verdict="reached"
  [[ $expect == blocked ]] && verdict="blocked EPERM"
  for dest in "${DESTS[@]}"; do
    for method in "${METHODS[@]}"; do
      e2e_expect_line "$out" "$method $dest $PORT: $verdict" "$run: $method $dest → $verdict"
      e2e_expect_arrival "$(listener_log "${method#* }" "$dest")" \
        "$(tag "$run" "$method" "$dest")" "$([[ $expect == reached ]] && echo yes || echo no)" \
        "$run: $method $dest"
    done
  done
}

# Controls first: they show the listeners and probes work before enforcement is judged.
run_case no-annotation - reached
run_case annotation-false false reached
run_case annotation-true true blocked

e2e_finish
