#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317  # helpers below are called through e2e_check
# shellcheck disable=SC2016  # jq programs and container scripts are single-quoted on purpose
#
# crun, with the hooks wired from the installed hooks.d JSON, in the isolated view (crun
# refuses hybrid cgroup hosts; the view is a cgroup2-only tree). crun hands the hook a state
# of its own ("status": "created", "ociVersion" 1.0.0, extra "rootfs"/"owner" keys) and puts
# the container straight into its cgroupsPath (/<id> when there is none): no sub-cgroup with
# the cgroupfs manager. Checked:
#   - host network: TCP and UDP to the fake host's loopback (v4, v6, v4-mapped), its veth
#     address and 169.254.169.254 are refused; without the annotation they arrive;
#   - own netns: the fake host's veth v4/v6 and metadata v4/v6 addresses are refused, the
#     container's own loopback works;
#   - placement: two containers under one parent cgroup: the links are on each container's
#     own cgroup, never on the shared parent, and the unannotated sibling is not affected;
#   - a process that moves into a sub-cgroup of its container stays blocked;
#   - crun's run.oci.delegate-cgroup: crun starts the payload in a sub-cgroup of the
#     container's cgroup, and the payload may move back up to its cgroup namespace root: it
#     must stay blocked there too;
#   - a bad annotation value stops the container before its command runs;
#   - capability names crun (libcap's cap_from_name) grants in other spellings ("13junk",
#     "cap_sys_admin.x"): crun grants them (control), the hook refuses the annotated container;
#   - cleanup after `crun delete` (create/start), `crun delete -f` and a foreground `crun run`.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=policy_lib.sh
source "$(dirname "$0")/policy_lib.sh"
# shellcheck source=runtimes_lib.sh
source "$(dirname "$0")/runtimes_lib.sh"

e2e_runc_view "$@"
rt_crun_setup

PORT=18095
OWN_PORT=19095

for proto in tcp udp; do
  for addr in 127.0.0.1 ::1 "$E2E_HOST_V4"; do
    pl_listen "$E2E_HOST_NETNS" "$proto" "$addr" "$PORT"
  done
done
pl_listen_alias tcp 127.0.0.1 "$PORT" ::ffff:127.0.0.1
for addr in "$E2E_HOST_V6" "$E2E_META_V4" "$E2E_META_V6"; do
  pl_listen "$E2E_HOST_NETNS" tcp "$addr" "$PORT"
done

HOST_NET_PROBES=(
  "connect tcp 127.0.0.1 $PORT" "sendto udp 127.0.0.1 $PORT" "connect tcp ::1 $PORT"
  "connect udp ::1 $PORT" "connect tcp ::ffff:127.0.0.1 $PORT" "connect tcp $E2E_HOST_V4 $PORT"
  "connect tcp $E2E_META_V4 $PORT")
OWN_NET_PROBES=(
  "connect tcp $E2E_HOST_V4 $PORT" "sendto udp $E2E_HOST_V4 $PORT"
  "connect tcp $E2E_HOST_V6 $PORT"
  "connect tcp $E2E_META_V4 $PORT" "connect tcp $E2E_META_V6 $PORT")
# Blocked probes for the cgroup cases, where the container moves itself first.
MOVED_PROBES=("connect tcp 127.0.0.1 $PORT blocked" "sendto udp 127.0.0.1 $PORT blocked"
  "connect tcp $E2E_HOST_V4 $PORT blocked")

# A rw cgroup2 mount in E2E_BUNDLE: what a container needs to manage its own cgroups.
bundle_cgroup_rw() {
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" '
    (.mounts[] | select(.type == "cgroup") | .options) |= (map(select(. != "ro")) + ["rw"])' ||
    e2e_die "making the cgroup mount writable"
}

bundle_jq() {  # JQ-PROGRAM [JQ-ARGS...] — edits E2E_BUNDLE/config.json
  local program=$1
  shift
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" "$@" "$program" || e2e_die "jq $program"
}

# run_probes RUN OUT PROBE... — after a container ran pl_probe_script: it ran to its end,
# the probes' verdicts and arrivals are as expected.
run_probes_check() {
  local run=$1 out=$2
  shift 2
  e2e_check "$run: the container ran to its end" grep -qx container-done "$out"
  pl_check_probes "$run" "$out" "$@"
}

# probe_case RUN NET ANNOTATION EXPECT PROBE... — foreground `crun run` that runs the probes;
# with NET=own the container also serves and probes its own loopback (always reachable).
probe_case() {
  local run=$1 net=$2 annotation=$3 expect=$4 out=$E2E_RUN_DIR/$1.out script
  shift 4
  local probes=() own=()
  mapfile -t probes < <(pl_with_expect "$expect" "$@")
  script="echo container-started"
  if [[ $net == own ]]; then
    own=("connect tcp 127.0.0.1 $OWN_PORT reached" "sendto udp ::1 $OWN_PORT reached")
    pl_listen_log tcp 127.0.0.1 "$OWN_PORT" "$E2E_RUN_DIR/$run.own.log"
    pl_listen_log udp ::1 "$OWN_PORT" "$E2E_RUN_DIR/$run.own.log"
    script+=$'\n'"$(e2e_sh_own_listeners "$OWN_PORT" "tcp 127.0.0.1" "udp ::1")"
  fi
  script+=$'\n'"$(pl_probe_script "$run" "${probes[@]}" "${own[@]}")"
  ((${#own[@]})) && script+=$'\n'"$(e2e_sh_own_log 0.3)"
  script+="
echo container-done"
  rt_crun_bundle "crun-$run" "$net" "$annotation" "$script"
  e2e_bundle_wire_hooks
  if rt_crun_run "ojh-cr-$$-$run" "$out"; then
    e2e_pass "$run: crun run succeeded"
  else
    e2e_fail "$run: crun run failed: $(tail -n 2 "$out") $(cat "$RT_HOOK_STDERR")"
  fi
  ((${#own[@]})) && e2e_own_log "$out" "$E2E_RUN_DIR/$run.own.log"
  run_probes_check "$run" "$out" "${probes[@]}" "${own[@]}"
}

wait_for_line() {  # FILE LINE — waits up to 10 s for FILE to have LINE
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qxF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

container_cgroup() {  # ID — the cgroup directory of a running crun container
  local pid
  pid=$(rt_crun state "$1" | jq -r .pid) || return 1
  echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
}

# Two containers in one parent cgroup (cgroupsPath /<parent>/<id>), one annotated: each has
# a cgroup of its own, the links are only on the annotated one's, the other reaches the host.
case_placement() {
  local parent=ojh-crun-pod-$$ jailed=ojh-cr-$$-jailed open=ojh-cr-$$-open before id cg
  local go=$MARKERS/placement-go
  before=$(rt_hook_links)
  e2e_defer "rmdir '/sys/fs/cgroup/$parent'"
  for id in "$jailed" "$open"; do
    local annotation=true run=placement-jailed
    [[ $id == "$open" ]] && annotation=- run=placement-open
    rt_crun_bundle "$run" host "$annotation" "
echo container-started
while [ ! -e /markers/placement-go ]; do sleep 0.1; done
$(pl_probe_script "$run" "connect tcp 127.0.0.1 $PORT")
echo container-done"
    e2e_bundle_bind "$MARKERS" /markers
    bundle_jq '.linux.cgroupsPath = $path' --arg path "/$parent/$id"
    e2e_bundle_wire_hooks
    e2e_defer "rt_crun delete --force '$id'"
    if ! rt_crun run --detach --bundle "$E2E_BUNDLE" "$id" </dev/null \
      >"$E2E_RUN_DIR/$id.out" 2>&1; then
      e2e_fail "placement: crun run --detach $id failed: $(tail -n 2 "$E2E_RUN_DIR/$id.out")"
      return
    fi
  done
  cg=$(container_cgroup "$jailed") || cg=unknown
  e2e_check "placement: crun put the container into its cgroupsPath /$parent/$jailed" \
    test "$cg" == "/sys/fs/cgroup/$parent/$jailed"
  rt_expect_enforced placement "$jailed" "$cg"
  local on_parent
  on_parent=$(rt_hook_links | awk -v cg="$(stat -c %i "/sys/fs/cgroup/$parent")" '$3 == cg')
  e2e_check "placement: no link of the hook on the shared parent /$parent" test -z "$on_parent"
  touch "$go"
  wait_for_line "$E2E_RUN_DIR/$jailed.out" container-done || true
  wait_for_line "$E2E_RUN_DIR/$open.out" container-done || true
  run_probes_check placement-jailed "$E2E_RUN_DIR/$jailed.out" \
    "connect tcp 127.0.0.1 $PORT blocked"
  run_probes_check placement-open "$E2E_RUN_DIR/$open.out" "connect tcp 127.0.0.1 $PORT reached"
  rt_crun delete --force "$jailed" >/dev/null 2>&1 || true
  rt_crun delete --force "$open" >/dev/null 2>&1 || true
  rt_expect_cleaned "placement: after crun delete" "$jailed" "$before"
}

# moved_case RUN START MOVE-SCRIPT MOVED [JQ-PROGRAM] — an annotated container with a
# writable cgroup mount starts in cgroup START (as its cgroup namespace shows it), runs
# MOVE-SCRIPT, which moves its shell to MOVED, then probes: all blocked. JQ-PROGRAM edits
# config.json further.
moved_case() {
  local run=$1 start=$2 move=$3 moved=$4 out=$E2E_RUN_DIR/$1.out
  rt_crun_bundle "crun-$run" host true "echo container-started
echo \"start: \$(grep ^0:: /proc/self/cgroup)\"
$move
echo \"moved: \$(grep ^0:: /proc/self/cgroup)\"
$(pl_probe_script "$run" "${MOVED_PROBES[@]}")
echo container-done"
  bundle_cgroup_rw
  [[ -n ${5:-} ]] && bundle_jq "$5"
  e2e_bundle_wire_hooks
  if rt_crun_run "ojh-cr-$$-$run" "$out"; then
    e2e_pass "$run: crun run succeeded"
  else
    e2e_fail "$run: crun run failed: $(tail -n 2 "$out") $(cat "$RT_HOOK_STDERR")"
  fi
  e2e_expect_line "$out" "start: 0::$start" "$run: the container started in cgroup $start"
  e2e_expect_line "$out" "moved: 0::$moved" "$run: its shell moved itself to cgroup $moved"
  run_probes_check "$run" "$out" "${MOVED_PROBES[@]}"
}

# A bad value: crun fails, the hook's message (crun shows only "error executing hook") is in
# run.oci.hooks.stderr, the command never ran, nothing is left.
case_bad_annotation() {
  local id=ojh-cr-$$-bad out=$E2E_RUN_DIR/bad.out before
  before=$(rt_hook_links)
  rt_crun_bundle crun-bad host yes "touch /markers/bad"
  e2e_bundle_bind "$MARKERS" /markers
  e2e_bundle_wire_hooks
  if rt_crun_run "$id" "$out"; then
    e2e_fail "value 'yes': crun run succeeded"
  else
    e2e_pass "value 'yes': crun run failed ($(head -n 1 "$out"))"
  fi
  rt_expect_hook_refusal "value 'yes': in run.oci.hooks.stderr" "$RT_HOOK_STDERR" "$id" \
    'annotation jail.block-host' '"true"' '"false"'
  e2e_check "value 'yes': the container's command never ran" test ! -e "$MARKERS/bad"
  rt_expect_cleaned "value 'yes'" "$id" "$before"
}

# crun reads capability names with libcap, which grants CAP_NET_RAW for "13junk" and
# CAP_SYS_ADMIN for "cap_sys_admin.x". Control: without the annotation the container holds
# them (CapEff bits 13 and 21), so the spelling is real; with it, the hook refuses.
case_capability_spellings() {
  local out=$E2E_RUN_DIR/caps-open.out id=ojh-cr-$$-caps before cap_eff
  local spell='.process.capabilities |= with_entries(.value += ["13junk", "cap_sys_admin.x"])'
  rt_crun_bundle crun-caps-open host - 'grep ^CapEff: /proc/self/status'
  bundle_jq "$spell"
  e2e_bundle_wire_hooks
  if rt_crun_run "ojh-cr-$$-caps-open" "$out"; then
    cap_eff=$(sed -n 's/^CapEff:[[:space:]]*//p' "$out")
    if [[ -n $cap_eff ]] && (((16#$cap_eff & 0x202000) == 0x202000)); then
      e2e_pass "capability spellings: crun grants them (CapEff $cap_eff)"
    else
      e2e_fail "capability spellings: crun did not grant CAP_NET_RAW+CAP_SYS_ADMIN: $(cat "$out")"
    fi
  else
    e2e_fail "capability spellings: control run failed: $(tail -n 2 "$out")"
  fi

  before=$(rt_hook_links)
  out=$E2E_RUN_DIR/caps.out
  rt_crun_bundle crun-caps host true "touch /markers/caps"
  e2e_bundle_bind "$MARKERS" /markers
  bundle_jq "$spell"
  e2e_bundle_wire_hooks
  if rt_crun_run "$id" "$out"; then
    e2e_fail "capability spellings: crun run of the annotated container succeeded"
  else
    e2e_pass "capability spellings: crun run of the annotated container failed"
  fi
  rt_expect_hook_refusal "capability spellings: in run.oci.hooks.stderr" "$RT_HOOK_STDERR" \
    "$id" "may hold CAP_NET_RAW, CAP_SYS_ADMIN"
  e2e_check "capability spellings: the container's command never ran" \
    test ! -e "$MARKERS/caps"
  rt_expect_cleaned "capability spellings" "$id" "$before"
}

# The lifecycle (lib.sh: e2e_lifecycle) under crun, which puts a container without a
# cgroupsPath into /<id> and reports one that is only created as "created".
crun_enforced() {  # WHAT ID BASELINE
  local cg
  cg=$(container_cgroup "$2") || cg=unknown
  if [[ $1 == create/delete ]]; then
    e2e_check "create/delete: crun's state says \"created\"" \
      test "$(rt_crun state "$2" | jq -r .status)" == created
    e2e_check "create/delete: crun put the container into /$2" test "$cg" == "/sys/fs/cgroup/$2"
  fi
  rt_expect_enforced "$1" "$2" "$cg"
}

# Controls first: they show the listeners and probes work before enforcement is judged.
probe_case host-none host - reached "${HOST_NET_PROBES[@]}"
probe_case host-true host true blocked "${HOST_NET_PROBES[@]}"
probe_case ownns-none own - reached "${OWN_NET_PROBES[@]}"
probe_case ownns-true own true blocked "${OWN_NET_PROBES[@]}"
case_placement
moved_case sub-cgroup / 'mkdir /sys/fs/cgroup/sub && echo $$ >/sys/fs/cgroup/sub/cgroup.procs' \
  /sub
# crun starts the payload in <cgroupsPath>/payload, below its cgroup namespace root (/), to
# which the payload may return.
moved_case delegate-cgroup /payload 'echo $$ >/sys/fs/cgroup/cgroup.procs' / '
  .linux.cgroupsPath = "/ojh-crun-delegate"
  | .annotations["run.oci.systemd.subgroup"] = ""
  | .annotations["run.oci.delegate-cgroup"] = "payload"'
case_bad_annotation
case_capability_spellings
e2e_lifecycle rt_crun rt_crun_bundle "ojh-cr-$$" rt_hook_links crun_enforced rt_expect_cleaned

e2e_finish
