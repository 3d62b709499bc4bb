#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# What the hook leaves behind when a container ends other than by exiting by itself
# (run --rm is checked after every enforced run elsewhere):
#   - `podman rm -f` of a running enforced container: while it runs, its links sit on its
#     own cgroup (the systemd scope podman made, not a parent) and `podman exec` processes
#     are refused too; afterwards its pins are gone and the link count is back;
#   - conmon and the container killed with SIGKILL, so podman never runs poststop: the
#     pins stay until `oci-jail-hook gc` sees the cgroup gone and releases them; a later
#     `podman rm -f` still works.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

rm_f_running() {
  local before id cg placed
  before=$(hook_state)
  detached_run rm-f "${ENFORCE[@]}" || return 0
  id=$(cid rm-f)
  [[ -d $(container_pins "$id") ]] || fail "rm-f: no pins for the running container ${id:0:12}"
  log "hook while it runs: $(hook_state)"
  [[ $(hook_state) != "$before" ]] || fail "rm-f: the hook holds nothing more for the running container"
  cg=$(container_cgroup "$id")
  placed=$(hook_cgroups | grep -F -- "$id" || true)
  log "container cgroup: $cg; cgroups with the hook's programs for it: ${placed:-none}"
  if [[ -z $placed ]]; then
    fail "rm-f: the hook's programs are on no cgroup of container ${id:0:12} ($(hook_cgroups | tr '\n' ' '))"
  elif [[ $cg != "$placed" && $cg != "$placed"/* ]]; then
    fail "rm-f: the hook's programs are on $placed, which does not contain the container's $cg"
  fi
  run_logged podman exec "$id" jail-probe connect tcp "$DUMMY_V4" "$PORT" rm-f/exec >"$STATE/rm-f-exec.out" 2>&1 || true
  cat "$STATE/rm-f-exec.out"
  grep -q ': blocked EPERM' "$STATE/rm-f-exec.out" ||
    fail "rm-f: podman exec in the enforced container reached the host: $(tail -n 1 "$STATE/rm-f-exec.out")"
  run_logged podman rm -f -t 0 "$id" || fail "rm-f: podman rm -f failed"
  expect_released rm-f "$before"
}

conmon_killed_then_gc() {
  local before id conmon pid cg i out
  before=$(hook_state)
  detached_run gc "${ENFORCE[@]}" || return 0
  id=$(cid gc)
  conmon=$(podman inspect -f '{{.State.ConmonPid}}' "$id")
  pid=$(podman inspect -f '{{.State.Pid}}' "$id")
  cg=$(hook_cgroups | grep -F -- "$id" | head -n 1 || true)
  [[ -n $cg ]] || { fail "gc: the hook's programs are on no cgroup of container ${id:0:12}"; return 0; }
  log "killing conmon $conmon and the container's init $pid; the hook's cgroup: $cg"
  kill -KILL "$conmon" "$pid"
  # No podman command until gc: any of them might notice the exit and clean up itself.
  for ((i = 0; i < 150; i++)); do [[ -d $cg ]] || break; sleep 0.2; done
  if [[ -d $cg ]]; then
    fail "gc: cgroup $cg still there 30 s after its processes were killed"
    return 0
  fi
  if [[ ! -d $(container_pins "$id") ]]; then
    fail "gc: the pins were gone before gc (poststop ran after all?): gc is untested"
    return 0
  fi
  out=$(run_logged "$HOOK" gc 2>&1) || fail "gc: oci-jail-hook gc failed: $out"
  log "$out"
  [[ $out == *"released 1 container "* ]] || fail "gc: expected 'released 1 container', got: $out"
  expect_released gc "$before"
  # podman itself refuses the first rm of a container whose conmon died ("conmon exited
  # prematurely"): that is podman's, not the hook's; only the hook's state is judged here.
  run_logged podman rm -f -t 0 "$id" || run_logged podman rm -f -t 0 "$id" || true
}

scenario "podman rm -f of a running enforced container: links on its own cgroup, podman exec refused, all released" rm_f_running
scenario "conmon and the container SIGKILLed (no poststop): oci-jail-hook gc releases the pins and links" conmon_killed_then_gc
