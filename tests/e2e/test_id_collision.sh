#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2317  # jq programs single-quoted; helpers run via e2e_check
#
# Two containers with one id: runc with two state roots (--root), as two runtimes or two
# stores on one node would run them. Ids are unique only within one runtime's store, so the
# hook keys what it keeps by cgroup: one container's create-runtime or poststop must never
# take the other's programs away. Container X runs under root A in its own cgroup, in the
# container netns, and probes the fake host (10.200.0.1) over TCP and UDP through `runc exec`
# (a process in its cgroup); each step checks that A's probes are refused with EPERM and
# never arrive, that its cgroup still runs the hook's five programs, and that a control
# probe from outside any enforced cgroup arrives.
#   1. X under root A alone.
#   2. X under root B: another bundle, another cgroup. Both are enforced, `status --json`
#      lists X twice with the two cgroup ids.
#   3. X under root B deleted (its poststop runs): A is untouched, B's programs are gone.
#   4. X under root C with A's very bundle: runc puts it into A's cgroup (its cgroupsPath),
#      the hook refuses to enforce one cgroup for a second instance, runc runs poststop
#      for the refused container (same id, same bundle): A is untouched.
#   5. X under root A deleted: nothing of the hook is left on any cgroup, in the pin
#      directory or in the rule maps.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

e2e_runc_view "$@"
ID=ojh-col-$$
PORT=18070
declare -A CGROUP
CGROUP[a]=$H_CG2/ojh-col-a
CGROUP[b]=$H_CG2/ojh-col-b

e2e_listen "$E2E_HOST_NETNS" tcp "$E2E_HOST_V4" "$PORT"
TCP_LOG=$E2E_LISTEN_LOG
e2e_listen "$E2E_HOST_NETNS" udp "$E2E_HOST_V4" "$PORT"
UDP_LOG=$E2E_LISTEN_LOG

# bundle NAME CGROUPS-PATH — a long-running container X in the container netns. A second
# poststop hook after the hook under test appends the state runc gives poststop to
# $POSTSTOPS, one JSON object a line: proof that poststop ran, and with what.
POSTSTOPS=$W/poststop-states
: >"$POSTSTOPS"
bundle() {
  e2e_make_bundle "$1" own true "echo started; exec sleep 600"
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg path "$2" '.linux.cgroupsPath = $path' ||
    e2e_die "setting cgroupsPath in $E2E_BUNDLE"
  e2e_bundle_wire_hooks
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg out "$POSTSTOPS" '.hooks.poststop += [{
    path: "/bin/sh", args: ["sh", "-c", "{ tr -d \"\\n\"; echo; } >>\"$1\"", "sh", $out]}]' ||
    e2e_die "adding the state recorder to $E2E_BUNDLE"
}

# poststop_ran STEP BUNDLE — poststop ran (once more) for X with that bundle.
POSTSTOPS_SEEN=0
poststop_ran() {
  local n
  n=$(jq -s --arg id "$ID" --arg b "$2" '[.[] | select(.id == $id and .bundle == $b)] | length' \
    "$POSTSTOPS")
  e2e_check "$1: runc ran poststop for it ($(tail -n 1 "$POSTSTOPS"))" test "$n" -gt "$POSTSTOPS_SEEN"
  POSTSTOPS_SEEN=$n
}

# The listener logs are complete up to here once a marker sent now has arrived.
barriers() {
  e2e_listener_barrier "$E2E_HOST_NETNS" tcp "$E2E_HOST_V4" "$PORT" "$TCP_LOG"
  e2e_listener_barrier "$E2E_HOST_NETNS" udp "$E2E_HOST_V4" "$PORT" "$UDP_LOG"
}

# expect_a_enforced STEP — X under root A: TCP and UDP to the fake host refused with EPERM
# and nothing arrives; the hook's five programs on its cgroup. A control probe from the
# container netns outside any enforced cgroup arrives (the path itself works).
expect_a_enforced() {
  local step=$1 proto log
  h_exec_refused "$step" "X under root A" a "$ID" a
  for proto in tcp udp; do
    e2e_in_netns "$E2E_CT_NETNS" "$PROBE" connect "$proto" "$E2E_HOST_V4" "$PORT" \
      "$step-control-$proto" >/dev/null 2>&1 || true
  done
  barriers
  for proto in tcp udp; do
    log=$TCP_LOG
    [[ $proto == udp ]] && log=$UDP_LOG
    e2e_expect_arrival "$log" "$step-a-$proto" no "$step: X under root A: $proto probe"
    e2e_expect_arrival "$log" "$step-control-$proto" yes \
      "$step: control: $proto from the container netns outside any enforced cgroup"
  done
  local n
  n=$(hook_links_on "$CGID_A")
  e2e_check "$step: X under root A: its cgroup runs the hook's programs (got $n)" \
    test "$n" = "$(e2e_hook_program_count)"
}

hook_links_on() {  # CGROUP-ID — number of links of the hook's programs on that cgroup
  h_links_of "$PIN_DIR" | awk -v cg="$1" '$1 == cg' | wc -l
}

# A removed cgroup's links are released by a kernel work item: wait a little for WANT.
wait_links_on() {  # CGROUP-ID WANT
  local i
  for ((i = 0; i < 30; i++)); do
    [[ $(hook_links_on "$1") == "$2" ]] && return 0
    sleep 0.1
  done
  return 1
}

# listed_cgroups — the cgroup ids `status --json` lists for X, sorted, space-separated.
listed_cgroups() {
  "$HOOK" status --json | jq -r --arg id "$ID" \
    '[.containers[] | select(.id == $id) | .cgroup_id] | sort | map(tostring) | join(" ")'
}

# 1. ---------------------------------------------------------------------------------------
bundle x-a /ojh-col-a
BUNDLE_A=$E2E_BUNDLE
h_runc_detach a "$BUNDLE_A" "$ID" ||
  e2e_die "X under root A did not start: $(tail -n 3 "$W/run-a.out")"
CGID_A=$(h_cgroup_id "${CGROUP[a]}")
expect_a_enforced 1

# 2. ---------------------------------------------------------------------------------------
bundle x-b /ojh-col-b
BUNDLE_B=$E2E_BUNDLE
if h_runc_detach b "$BUNDLE_B" "$ID"; then
  e2e_pass "2: X under root B started"
else
  e2e_fail "2: X under root B did not start: $(tail -n 3 "$W/run-b.out")"
fi
expect_a_enforced 2
CGID_B=$(h_cgroup_id "${CGROUP[b]}" 2>/dev/null || echo none)
e2e_check "2: X under root B: its cgroup runs the hook's programs" \
  test "$(hook_links_on "$CGID_B")" = "$(e2e_hook_program_count)"
expected=$(printf '%s\n' "$CGID_A" "$CGID_B" | sort -n | tr '\n' ' ')
e2e_check "2: status --json lists X on both cgroups ($CGID_A, $CGID_B; got '$(listed_cgroups)')" \
  test "$(listed_cgroups) " = "$expected"

# 3. ---------------------------------------------------------------------------------------
e2e_check "3: runc delete -f of X under root B" h_runc_in b delete -f "$ID"
POSTSTOPS_SEEN=0
poststop_ran "3: X under root B" "$BUNDLE_B"
POSTSTOPS_SEEN=$(jq -s --arg id "$ID" --arg b "$BUNDLE_A" \
  '[.[] | select(.id == $id and .bundle == $b)] | length' "$POSTSTOPS")
expect_a_enforced 3
e2e_check "3: no link of the hook's programs is left on B's cgroup" wait_links_on "$CGID_B" 0
e2e_check "3: status --json lists X once, on A's cgroup (got '$(listed_cgroups)')" \
  test "$(listed_cgroups)" = "$CGID_A"

# 4. ---------------------------------------------------------------------------------------
rc=0
h_runc_detach c "$BUNDLE_A" "$ID" || rc=$?
e2e_log "4: runc run of X under root C with A's bundle: exit $rc: $(tail -n 2 "$W/run-c.out")"
e2e_check "4: X under root C in A's cgroup did not start (exit $rc)" test "$rc" != 0
refusal=$(grep -o "oci-jail-hook: container $ID: [^\"\\]*" "$W/run-c.out" | head -n 1) || true
e2e_check "4: the hook refused it: ${refusal:-no line from the hook}" \
  grep -q "already enforced for another container with this id" <<<"$refusal"
h_runc_in c delete -f "$ID" >/dev/null 2>&1 || true
poststop_ran "4: X under root C (A's bundle, no pid)" "$BUNDLE_A"
expect_a_enforced 4
e2e_check "4: status --json lists X once, on A's cgroup (got '$(listed_cgroups)')" \
  test "$(listed_cgroups)" = "$CGID_A"

# 5. ---------------------------------------------------------------------------------------
e2e_check "5: runc delete -f of X under root A" h_runc_in a delete -f "$ID"
e2e_check "5: status --json no longer lists X (got '$(listed_cgroups)')" \
  test -z "$(listed_cgroups)"
e2e_check "5: no link of the hook's programs is left" test -z "$(h_links_of "$PIN_DIR")"
e2e_check "5: nothing is left in the pin directory ($(h_leftover_pins "$PIN_DIR" | tr '\n' ' '))" \
  test -z "$(h_leftover_pins "$PIN_DIR")"
e2e_check "5: the rule maps are empty" \
  test "$(h_map_entries "$PIN_DIR" rules4)/$(h_map_entries "$PIN_DIR" rules6)" = 0/0

e2e_finish
