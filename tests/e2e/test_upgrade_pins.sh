#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2317  # jq programs single-quoted; helpers run via e2e_check
#
# An upgrade while containers run: pins made by the previous version of the hook
# (containers/<id>/{links, cgroup-<id>/}, named by container id, with no record of bundle or
# init) must keep working with this one. The bundles' hooks run a path that first holds the
# previous hook and is then replaced by this one, as a package upgrade replaces the binary.
# With OJH_PREV_HOOK=<the previous commit's oci-jail-hook> that binary makes the pins;
# without it, this version's pins are turned into the previous layout (rename, records
# dropped), which is what the previous version wrote.
#   1. "up.old" (a '.' in its id: stored as %2E) is enforced under runc root A before the
#      upgrade; after it, `status --json` lists it (id, cgroup, five links, no bundle), its
#      probes to the fake host over TCP and UDP are refused, and `refresh` counts it.
#   2. A container with the same id under runc root B, with this version: both enforced;
#      deleting it (its poststop) leaves the old one enforced.
#   3. `gc` leaves the old one (its cgroup lives) and releases a second old container whose
#      cgroup was removed without poststop (a crashed runtime).
#   4. `runc delete` of the old one: this version's poststop releases it; nothing is left.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

e2e_runc_view "$@"

NEW_HOOK=$HOOK
PREV_HOOK=${OJH_PREV_HOOK:-}
if [[ -n $PREV_HOOK ]]; then
  [[ -x $PREV_HOOK ]] || e2e_die "OJH_PREV_HOOK=$PREV_HOOK is not an executable"
  e2e_log "pins of the previous version made by $PREV_HOOK"
else
  e2e_log "pins of the previous version made by reshaping this version's (set OJH_PREV_HOOK" \
    "to the previous commit's binary to use it instead)"
fi
ID=up.old-$$
PORT=18071
# The path the bundles' hooks run: the "installed" binary that the upgrade replaces.
INSTALLED=$W/bin/oci-jail-hook
mkdir -p "$W/bin"
ln -sfn "${PREV_HOOK:-$NEW_HOOK}" "$INSTALLED"
CG_OLD=$H_CG2/ojh-up-old

e2e_listen "$E2E_HOST_NETNS" tcp "$E2E_HOST_V4" "$PORT"
TCP_LOG=$E2E_LISTEN_LOG
e2e_listen "$E2E_HOST_NETNS" udp "$E2E_HOST_V4" "$PORT"
UDP_LOG=$E2E_LISTEN_LOG

# bundle NAME CGROUPS-PATH HOOK — a long-running container whose hooks run HOOK.
bundle() {
  e2e_make_bundle "$1" own true "echo started; exec sleep 600"
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg path "$2" --arg hook "$3" '
    .linux.cgroupsPath = $path
    | .hooks.createRuntime = [{path: $hook, args: ["oci-jail-hook", "create-runtime"]}]
    | .hooks.poststop = [{path: $hook, args: ["oci-jail-hook", "poststop"]}]' ||
    e2e_die "editing $E2E_BUNDLE"
}

start() {  # ROOT-NAME BUNDLE
  h_runc_detach "$1" "$2" "$ID" || e2e_die "runc run under root $1: $(tail -n 3 "$W/run-$1.out")"
}

# The previous version's layout, from an entry of this version: what that version pinned.
to_previous_layout() {  # ID
  local entry
  entry=$(e2e_pin_entries "$PIN_DIR" "$1")
  [[ $entry == */cgroup:* ]] || e2e_die "no entry of this version for $1: '$entry'"
  rm "$entry/id" "$entry/bundle" "$entry/init"
  mv "$entry" "$PIN_DIR/v1/containers/${1//./%2E}"
}

old_entry_ok() {  # — the old container's entry is still the previous version's
  [[ $(e2e_pin_entries "$PIN_DIR" "$ID") == *"/containers/${ID//./%2E}"* ]]
}

listed() {  # JQ-FILTER — over the status objects of ID
  "$NEW_HOOK" status --json | jq -c --arg id "$ID" "[.containers[] | select(.id == \$id)] | $1"
}

expect_old_enforced() {  # STEP
  local step=$1 proto log n want
  h_exec_refused "$step" "the old container" a "$ID" old
  e2e_listener_barrier "$E2E_HOST_NETNS" tcp "$E2E_HOST_V4" "$PORT" "$TCP_LOG"
  e2e_listener_barrier "$E2E_HOST_NETNS" udp "$E2E_HOST_V4" "$PORT" "$UDP_LOG"
  for proto in tcp udp; do
    log=$TCP_LOG
    [[ $proto == udp ]] && log=$UDP_LOG
    e2e_expect_arrival "$log" "$step-old-$proto" no "$step: the old container's $proto probe"
  done
  n=$(h_links_of "$PIN_DIR" | awk -v cg="$CGID_OLD" '$1 == cg' | wc -l)
  want=$(e2e_hook_attach_types | wc -l) # five, seven where the AF_UNIX programs load
  e2e_check "$step: the old container's cgroup runs the hook's $want programs (got $n)" \
    test "$n" = "$want"
  e2e_check "$step: its pins are still the previous version's entry" old_entry_ok
}

# 1. ---------------------------------------------------------------------------------------
bundle old /ojh-up-old "$INSTALLED"
BUNDLE_OLD=$E2E_BUNDLE
start a "$BUNDLE_OLD"
CGID_OLD=$(h_cgroup_id "$CG_OLD")
[[ -n $PREV_HOOK ]] || to_previous_layout "$ID"
e2e_check "1: before the upgrade: the pins are containers/${ID//./%2E}" old_entry_ok
ln -sfn "$NEW_HOOK" "$INSTALLED"
NLINKS=$(e2e_hook_attach_types | wc -l)
e2e_check "1: status --json lists the old container once: cgroup, $NLINKS links, no bundle" \
  test "$(listed 'map([.cgroup_id, .cgroup_alive, (.links | length), .bundle])')" = \
  "[[$CGID_OLD,true,$NLINKS,null]]"
expect_old_enforced 1
out=$(e2e_in_netns "$E2E_HOST_NETNS" "$NEW_HOOK" refresh 2>&1) || true
e2e_check "1: refresh counts it: '$out'" \
  test "$out" = "refreshed host addresses of 1 enforced container"
expect_old_enforced 1-refreshed

# 2. ---------------------------------------------------------------------------------------
bundle new /ojh-up-new "$INSTALLED"
start b "$E2E_BUNDLE"
CGID_NEW=$(h_cgroup_id "$H_CG2/ojh-up-new")
e2e_check "2: status --json lists both containers with the id" \
  test "$(listed 'map(.cgroup_id) | sort')" = \
  "$(jq -c -n --argjson a "$CGID_OLD" --argjson b "$CGID_NEW" '[$a, $b] | sort')"
expect_old_enforced 2
e2e_check "2: runc delete -f of the new one" h_runc_in b delete -f "$ID"
expect_old_enforced 2-deleted
e2e_check "2: status --json lists the old one only" \
  test "$(listed 'map(.cgroup_id)')" = "[$CGID_OLD]"

# 3. ---------------------------------------------------------------------------------------
h_sleeper up-crashed
CG_CRASHED=$H_CG2/up-crashed
h_bundle "$W/bundle-crashed"
h_state up.crashed "$H_PID" "$W/bundle-crashed" |
  e2e_in_netns "$E2E_HOST_NETNS" "$INSTALLED" create-runtime ||
  e2e_die "enforcing up.crashed"
[[ -n $PREV_HOOK ]] || to_previous_layout up.crashed
kill "$H_PID"
e2e_remove_cgroup_tree "$CG_CRASHED" || e2e_die "removing $CG_CRASHED"
out=""
for ((i = 0; i < 30; i++)); do
  out=$("$NEW_HOOK" gc 2>&1) || break
  [[ $out == *"released 1 container "* ]] && break
  sleep 0.1
done
e2e_check "3: gc releases the old container whose cgroup is gone: '$out'" \
  test "${out%%,*}" = "gc: released 1 container whose cgroup is gone"
e2e_check "3: nothing of it is left" test -z "$(e2e_pin_entries "$PIN_DIR" up.crashed)"
expect_old_enforced 3

# 4. ---------------------------------------------------------------------------------------
e2e_check "4: runc delete -f of the old one (this version's poststop)" h_runc_in a delete -f "$ID"
e2e_check "4: status --json no longer lists it" test "$(listed 'length')" = 0
e2e_check "4: no pin entry is left ($(h_leftover_pins "$PIN_DIR" | tr '\n' ' '))" \
  test -z "$(h_leftover_pins "$PIN_DIR")"
e2e_check "4: no link of the hook's programs is left" test -z "$(h_links_of "$PIN_DIR")"
e2e_check "4: the rule maps are empty" \
  test "$(h_map_entries "$PIN_DIR" rules4)/$(h_map_entries "$PIN_DIR" rules6)" = 0/0

e2e_finish
