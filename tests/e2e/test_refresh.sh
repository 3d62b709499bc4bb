#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `oci-jail-hook refresh` brings running containers up to date with the host's addresses.
# Two own-netns containers run under jail.block-host=true ("plain", and "cidr" which also
# blocks 10.200.0.67/32 by annotation) and probe in rounds, each round started by a trigger
# file in a bind-mounted directory:
#   round 1  E2E_NEW_V4 and E2E_NEW_V6 were added to the fake host after the containers
#            started: not yet known host addresses, so they are reached.
#   refresh  run in the fake host's netns (as an admin would on the host), with the hooks'
#            default pin dir: both containers get the new addresses.
#   round 2  the new addresses are blocked (EPERM, the listeners see nothing).
#   refresh  after the host dropped 10.200.0.66, fd00:200::66, 10.200.0.67 and the metadata
#            address 169.254.169.254.
#   round 3  the dropped host addresses are no longer blocked, but 10.200.0.67 stays blocked
#            for "cidr" (its annotation) and 169.254.169.254 for both (cloud metadata is
#            blocked whether or not the host carries the address).
# A refresh from another netns (the containers') changes nothing. `status --json` is
# checked against each step.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=policy_lib.sh
source "$(dirname "$0")/policy_lib.sh"

e2e_runc_view "$@"

PORT=18090
GONE_V4=10.200.0.66
GONE_V6=fd00:200::66
CIDR_V4=10.200.0.67  # a host address that container "cidr" also blocks by annotation
NAMES=(plain cidr)
declare -A ID ANNOTATIONS SYNC OUT RUNC_PID
ANNOTATIONS[plain]='{"jail.block-host": "true"}'
ANNOTATIONS[cidr]="{\"jail.block-host\": \"true\", \"jail.block-host.cidrs\": \"$CIDR_V4/32\"}"

for addr in "$GONE_V4" "$GONE_V6" "$CIDR_V4"; do e2e_host_address add "$addr"; done
for addr in "$GONE_V4" "$GONE_V6" "$CIDR_V4" "$E2E_META_V4"; do
  pl_listen "$E2E_HOST_NETNS" tcp "$addr" "$PORT"
done

ROUNDS=3
# Each round runs the same probes; what they must show differs.
probes() {  # ROUND NAME — "VERB PROTO ADDR PORT EXPECT" lines
  local new=blocked gone=blocked cidr=blocked meta=blocked
  case $1 in
    1) new=reached ;;
    3) gone=not-blocked cidr=not-blocked meta=denied ;;
  esac
  [[ $1 == 3 && $2 == cidr ]] && cidr=denied
  printf '%s\n' "connect tcp $E2E_NEW_V4 $PORT $new" "connect tcp $E2E_NEW_V6 $PORT $new" \
    "connect tcp $GONE_V4 $PORT $gone" "connect tcp $GONE_V6 $PORT $gone" \
    "connect tcp $CIDR_V4 $PORT $cidr" "connect tcp $E2E_META_V4 $PORT $meta"
}

container_script() {  # NAME
  local name=$1 round
  local -a round_probes
  e2e_sh_wait_for 60
  echo "echo container-started"
  echo "touch /sync/started"
  for ((round = 1; round <= ROUNDS; round++)); do
    mapfile -t round_probes < <(probes "$round" "$name")
    echo "wait_for /sync/go-$round"
    echo "{"
    pl_probe_script "$name/round$round" "${round_probes[@]}"
    echo "} >/sync/round-$round.out 2>&1"
    echo "touch /sync/done-$round"
  done
  echo "echo container-done"
}

# ---------------------------------------------------------------------------------------
# Helpers over `status --json` and the rounds.

rules_of() {  # NAME — the container's rules, one a line
  pl_status_of "${ID[$1]}" | jq -r '.rules[]?'
}

expect_rule() {  # NAME yes|no RULE-TEXT WHAT
  local name=$1 want=$2 rule=$3 got=no
  rules_of "$name" | grep -qxF -- "$rule" && got=yes
  if [[ $got == "$want" ]]; then
    e2e_pass "$name: $4: status $([[ $want == yes ]] && echo lists || echo "does not list") '$rule'"
  else
    e2e_fail "$name: $4: status should $([[ $want == yes ]] || echo "not ")list '$rule'" \
      "(rules: $(rules_of "$name" | paste -sd, -))"
  fi
}

expect_address_rule() {  # NAME yes|no ADDR/LEN WHAT — a rule for that prefix, of any kind
  local name=$1 want=$2 prefix=$3 got=no
  rules_of "$name" | grep -q "^${prefix//./\\.} (" && got=yes
  if [[ $got == "$want" ]]; then
    e2e_pass "$name: $4: status $([[ $want == yes ]] && echo has || echo "has no") rule for $prefix"
  else
    e2e_fail "$name: $4: status should $([[ $want == yes ]] || echo "not ")have a rule for" \
      "$prefix (rules: $(rules_of "$name" | paste -sd, -))"
  fi
}

run_round() {  # ROUND
  local round=$1 name
  local -a round_probes
  for name in "${NAMES[@]}"; do touch "${SYNC[$name]}/go-$round"; done
  for name in "${NAMES[@]}"; do
    e2e_wait_file "${SYNC[$name]}/done-$round" 150 ||
      e2e_die "$name: round $round did not finish: $(tail -n 3 "${OUT[$name]}")"
  done
  for name in "${NAMES[@]}"; do
    mapfile -t round_probes < <(probes "$round" "$name")
    pl_check_probes "$name/round$round" "${SYNC[$name]}/round-$round.out" "${round_probes[@]}"
  done
}

refresh() {  # NETNS-PATH WHAT EXPECTED-STDOUT
  local out rc=0
  out=$(e2e_in_netns "$1" "$HOOK" refresh 2>&1) || rc=$?
  if [[ $rc == 0 && $out == "$3" ]]; then
    e2e_pass "$2: refresh says '$3'"
  else
    e2e_fail "$2: refresh exited $rc, said '$out', expected '$3'"
  fi
}

# ---------------------------------------------------------------------------------------

for name in "${NAMES[@]}"; do
  ID[$name]=ojh-rf-$$-$name
  SYNC[$name]=$E2E_RUN_DIR/sync-$name
  OUT[$name]=$E2E_RUN_DIR/$name.out
  mkdir -p "${SYNC[$name]}"
  e2e_make_bundle "refresh-$name" own - "$(container_script "$name")"
  e2e_bundle_bind "${SYNC[$name]}" /sync
  pl_bundle_annotations "${ANNOTATIONS[$name]}"
  e2e_bundle_wire_hooks
  e2e_runc_start "${ID[$name]}" "$E2E_BUNDLE" "${OUT[$name]}"
  RUNC_PID[$name]=$E2E_RUNC_PID
done
for name in "${NAMES[@]}"; do
  e2e_wait_file "${SYNC[$name]}/started" ||
    e2e_die "container $name did not start: $(tail -n 3 "${OUT[$name]}")"
  expect_rule "$name" yes "$GONE_V4/32 (host)" "at start"
  expect_rule "$name" yes "$E2E_META_V4/32 (metadata)" "at start"
  expect_address_rule "$name" yes "$CIDR_V4/32" "at start"
  expect_address_rule "$name" no "$E2E_NEW_V4/32" "at start"
done

# The host gains addresses while the containers run.
for addr in "$E2E_NEW_V4" "$E2E_NEW_V6"; do
  e2e_host_address add "$addr"
  pl_listen "$E2E_HOST_NETNS" tcp "$addr" "$PORT"
done

# A refresh from a netns no container was enforced from touches nothing (and must not take
# that netns's addresses for the host's).
refresh "$E2E_CT_NETNS" "from the containers' netns" \
  "refreshed host addresses of 0 enforced containers"
for name in "${NAMES[@]}"; do
  expect_address_rule "$name" no "$E2E_CT_V4/32" "after a refresh from the containers' netns"
  expect_address_rule "$name" no "$E2E_NEW_V4/32" "after a refresh from the containers' netns"
done

run_round 1

refresh "$E2E_HOST_NETNS" "after adding $E2E_NEW_V4 and $E2E_NEW_V6" \
  "refreshed host addresses of 2 enforced containers"
for name in "${NAMES[@]}"; do
  expect_rule "$name" yes "$E2E_NEW_V4/32 (host)" "after refresh 1"
  expect_rule "$name" yes "$E2E_NEW_V6/128 (host)" "after refresh 1"
  expect_rule "$name" yes "$GONE_V4/32 (host)" "after refresh 1"
  expect_rule "$name" yes "$E2E_META_V4/32 (metadata)" "after refresh 1"
done

run_round 2

# The host drops addresses, among them one the "cidr" container blocks by annotation and the
# metadata address.
for addr in "$GONE_V4" "$GONE_V6" "$CIDR_V4" "$E2E_META_V4"; do
  e2e_host_address del "$addr"
done
refresh "$E2E_HOST_NETNS" "after removing addresses" \
  "refreshed host addresses of 2 enforced containers"
for name in "${NAMES[@]}"; do
  expect_address_rule "$name" no "$GONE_V4/32" "after refresh 2"
  expect_address_rule "$name" no "$GONE_V6/128" "after refresh 2"
  expect_rule "$name" yes "$E2E_NEW_V4/32 (host)" "after refresh 2"
  expect_rule "$name" yes "$E2E_META_V4/32 (metadata)" "after refresh 2"
done
expect_address_rule plain no "$CIDR_V4/32" "after refresh 2"
expect_address_rule cidr yes "$CIDR_V4/32" "after refresh 2"

run_round 3

for name in "${NAMES[@]}"; do
  rc=0
  e2e_wait_exit "${RUNC_PID[$name]}" || rc=$?
  e2e_check "$name: runc run exited 0 (got $rc)" test "$rc" == 0
  e2e_check "$name: the container ran to its end" grep -qx container-done "${OUT[$name]}"
  e2e_check "$name: status no longer lists the container" \
    test "$(pl_status_of "${ID[$name]}")" == null
done

e2e_finish
