#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317  # helpers below are called through e2e_check
#
# Enforcement lives exactly as long as the container: createRuntime pins four cgroup links
# (connect4/6, sendmsg4/6) on the container's own cgroup; poststop removes the pins, which
# detaches the links. Checked for the three ways a container ends under runc: create/start
# then `runc delete`, `runc delete -f` of a running container, and a foreground `runc run`
# (runc destroys the container itself). Afterwards the system's cgroup links and the
# container's pin directory are back to what they were.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_require_root
e2e_enter_isolated_view "$@"
e2e_require_tools
e2e_require_hooks
e2e_init
e2e_setup_network

HOOK=$(e2e_hook_path createRuntime)
CG2=$(e2e_cgroup2_mount) || e2e_die "no cgroup2 mount"

cgroup_link_ids() {
  bpftool -j link list | jq -c '[.[] | select(.type == "cgroup") | .id] | sort'
}

# Links that are not in the JSON list $1, as "attach_type cgroup_id" lines.
new_cgroup_links() {
  bpftool -j link list | jq -r --argjson before "$1" \
    '.[] | select(.type == "cgroup" and (.id as $id | $before | index($id) | not))
     | "\(.attach_type) \(.cgroup_id)"' | sort
}

container_cgroup_dir() {  # ID
  local pid
  pid=$(e2e_runc state "$1" | jq -r '.pid')
  echo "$CG2$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
}

expect_enforced() {  # WHAT ID LINKS-BEFORE
  local what=$1 id=$2 before=$3 cg cgid expected
  cg=$(container_cgroup_dir "$id")
  cgid=$(stat -c %i "$cg")
  expected=$(printf '%s\n' cgroup_inet4_connect cgroup_inet6_connect cgroup_udp4_sendmsg \
    cgroup_udp6_sendmsg cgroup_inet_egress | sed "s/\$/ $cgid/" | sort)
  local got
  got=$(new_cgroup_links "$before")
  if [[ $got == "$expected" ]]; then
    e2e_pass "$what: five new cgroup links, all on the container's cgroup ${cg#"$CG2"}"
  else
    e2e_fail "$what: new cgroup links are [${got//$'\n'/, }], expected [${expected//$'\n'/, }]"
  fi
  # One pin entry, named by the container's cgroup: the five link pins, each a link on that
  # cgroup (other files may sit beside), and the container id recorded in it.
  local name link_cgroup entry
  entry=$(e2e_pin_entries "$PIN_DIR" "$id")
  e2e_check "$what: the container's pin entry is cgroup:$cgid (got '${entry//$'\n'/ }')" \
    test "$entry" = "$PIN_DIR/v1/containers/cgroup:$cgid"
  entry=$PIN_DIR/v1/containers/cgroup:$cgid
  for name in connect4 connect6 sendmsg4 sendmsg6 egress; do
    link_cgroup=$(bpftool -j link show pinned "$entry/$name" 2>/dev/null |
      jq -r '.cgroup_id // empty') || true
    if [[ $link_cgroup == "$cgid" ]]; then
      e2e_pass "$what: pin $name is a link on the container's cgroup"
    else
      e2e_fail "$what: pin $entry/$name: not a link on cgroup $cgid" \
        "(got '${link_cgroup:-no such pin}')"
    fi
  done
  e2e_check "$what: 'oci-jail-hook status' lists the container" hook_status_lists "$id"
}

expect_cleaned() {  # WHAT ID LINKS-BEFORE
  local what=$1 id=$2 before=$3 after
  e2e_check "$what: the container's pin entry is gone" \
    test -z "$(e2e_pin_entries "$PIN_DIR" "$id")"
  after=$(cgroup_link_ids)
  if [[ $after == "$before" ]]; then
    e2e_pass "$what: cgroup links are back to what they were ($before)"
  else
    e2e_fail "$what: cgroup links were $before before, are $after after"
  fi
  e2e_check "$what: 'oci-jail-hook status' no longer lists the container" \
    hook_status_omits "$id"
}

# `oci-jail-hook status` must succeed; the container id is in its output or not.
hook_status_lists() {
  local status
  status=$("$HOOK" status 2>&1) && [[ $status == *"$1"* ]]
}

hook_status_omits() {
  local status
  status=$("$HOOK" status 2>&1) && [[ $status != *"$1"* ]]
}

wait_stopped() {  # ID
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(e2e_runc state "$1" | jq -r .status) == stopped ]] && return 0
    sleep 0.1
  done
  return 1
}

# 1. runc create (createRuntime runs) → checks → start → exits → runc delete (poststop).
case_delete() {
  local id=ojh-cl-$$-delete before
  before=$(cgroup_link_ids)
  e2e_make_bundle cleanup-delete host true "echo container-ran"
  e2e_bundle_wire_hooks
  e2e_defer "e2e_runc delete -f '$id'"
  if ! e2e_runc create --bundle "$E2E_BUNDLE" "$id" </dev/null >"$E2E_RUN_DIR/delete.out" 2>&1
  then
    e2e_fail "create/delete: runc create failed: $(tail -n 2 "$E2E_RUN_DIR/delete.out")"
    return
  fi
  expect_enforced create/delete "$id" "$before"
  e2e_runc start "$id"
  e2e_check "create/delete: the container ran and stopped" wait_stopped "$id"
  e2e_check "create/delete: runc delete succeeded" e2e_runc delete "$id"
  expect_cleaned create/delete "$id" "$before"
}

# 2. A running container removed with runc delete -f.
case_force_delete() {
  local id=ojh-cl-$$-force before
  before=$(cgroup_link_ids)
  e2e_make_bundle cleanup-force host true "echo container-ran; sleep 60"
  e2e_bundle_wire_hooks
  e2e_defer "e2e_runc delete -f '$id'"
  if ! e2e_runc run --detach --bundle "$E2E_BUNDLE" "$id" </dev/null \
    >"$E2E_RUN_DIR/force.out" 2>&1; then
    e2e_fail "delete -f: runc run --detach failed: $(tail -n 2 "$E2E_RUN_DIR/force.out")"
    return
  fi
  expect_enforced "delete -f" "$id" "$before"
  e2e_check "delete -f: runc delete -f succeeded" e2e_runc delete -f "$id"
  expect_cleaned "delete -f" "$id" "$before"
}

# 3. Foreground runc run: runc destroys the container (and runs poststop) when it exits.
case_run() {
  local id=ojh-cl-$$-run before
  before=$(cgroup_link_ids)
  e2e_make_bundle cleanup-run host true "echo container-ran"
  e2e_bundle_wire_hooks
  e2e_check "runc run: the container ran" e2e_runc_run "$id" "$E2E_BUNDLE" "$E2E_RUN_DIR/run.out"
  expect_cleaned "runc run" "$id" "$before"
}

case_delete
case_force_delete
case_run

e2e_finish
