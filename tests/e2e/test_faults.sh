#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
#
# Crash safety: the hook SIGKILLed right after each phase of create-runtime (resolve, parse,
# host, lock, load, populate, attach, pin), as a runtime's hook timeout would kill it. The
# fault point is the hook's own: OJH_FAULT_KILL_AT=<phase>, honoured only by the test build
# oci-jail-hook-faults (FAULT_HOOK, hook/fault_injection.cpp); first, the installed hook is
# shown to ignore it. Every run gets a fresh pin directory, so "load" really loads the
# programs in that run.
#   (a) Synthetic state (a sleeping process in a test cgroup). Right after the kill the
#       container is either not enforced at all (no program on its cgroup, no pin set) or
#       fully enforced (5 links, the pin set, the reference rules) — never half. Then the
#       recovery, two ways: `gc` first, or the next create-runtime straight away; either
#       way create-runtime then succeeds with exactly the reference rules, poststop
#       releases everything, and only the one shared set of programs and maps is left.
#   (b) Real runc with the hooks wired from hooks.d, the test build as the createRuntime hook
#       and OJH_FAULT_KILL_AT in its env:
#       runc must refuse to start the container (its command never runs: no marker file),
#       and after `runc delete` and `oci-jail-hook gc` nothing of it is left.
#   (c) With strace: the hook killed on entry to every system call that changes lasting
#       state, in create-runtime and in poststop (see below).
# The system's ojh_* programs and maps (bpftool) are compared with those before the test;
# objects that appear meanwhile but that this test cannot reach belong to another user of
# the hook on the machine and are only logged (h_leaked_objects).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

[[ -n ${FAULT_HOOK:-} && -x $FAULT_HOOK ]] ||
  e2e_skip "FAULT_HOOK (the test build oci-jail-hook-faults) not set or not executable"
e2e_runc_view "$@"
INSTALLED_HOOK=$HOOK
HOOK=$FAULT_HOOK
h_bundle "$W/bundle"
PHASES=(resolve parse host lock load populate attach pin)
BASE_PROGS=$(h_ojh_ids prog)
BASE_MAPS=$(h_ojh_ids map)

# The installed hook has no fault injection: whoever can set a hook's environment cannot stop
# it half-way. With OJH_FAULT_KILL_AT set to every phase in turn it enforces and releases.
h_sleeper installed
h_state installed "$H_PID" "$W/bundle" >"$W/state-installed"
for phase in "${PHASES[@]}"; do
  rc=0
  OJH_FAULT_KILL_AT=$phase nsenter --net="$E2E_HOST_NETNS" -- "$INSTALLED_HOOK" \
    --pin-dir /sys/fs/bpf/ojh-installed create-runtime <"$W/state-installed" \
    2>"$W/err-installed" || rc=$?
  n=$(h_cgroup_prog_count "$H_CG2/installed")
  e2e_check "the installed hook ignores OJH_FAULT_KILL_AT=$phase (exit $rc, $n programs on \
the cgroup) $(head -c 200 "$W/err-installed")" test "$rc:$n" = "0:$(e2e_hook_program_count)"
done
nsenter --net="$E2E_HOST_NETNS" -- "$INSTALLED_HOOK" --pin-dir /sys/fs/bpf/ojh-installed \
  poststop <"$W/state-installed" || e2e_fail "the installed hook's poststop failed"
rm -rf /sys/fs/bpf/ojh-installed
e2e_remove_cgroup_tree "$H_CG2/installed" || true

# The rules a container gets when nothing went wrong.
h_sleeper ref
h_state ref "$H_PID" "$W/bundle" >"$W/state-ref"
h_hook_at /sys/fs/bpf/ojh-ref create-runtime <"$W/state-ref" || e2e_die "reference not enforced"
REFERENCE=$(h_status "$HOOK" /sys/fs/bpf/ojh-ref |
  jq -c '.containers[0] | {rules: (.rules | sort), exceptions: (.exceptions | sort)}')
h_hook_at /sys/fs/bpf/ojh-ref poststop <"$W/state-ref" || e2e_die "reference not released"
rm -rf /sys/fs/bpf/ojh-ref
e2e_log "reference: $(jq '.rules | length' <<<"$REFERENCE") rules"

# Link pins of the pin directory (published or staged) that are links on cgroup id CGID.
pinned_links_on() {  # PIN-DIR CGID
  local pin n=0
  for pin in "$1"/v1/containers/*/* "$1"/v1/staging-*/*; do
    [[ -f $pin && ! -L $pin ]] || continue  # link pins, not records
    [[ $(bpftool -j link show pinned "$pin" 2>/dev/null | jq -r '.cgroup_id // 0') == "$2" ]] &&
      n=$((n + 1))
  done
  echo "$n"
}

# Sets STATE_CLASS for container ID on CGROUP-DIR, with STATE_DETAIL:
#   none    no program on the cgroup and no pin set
#   full    the published pin set: 5 links on the cgroup, its record, the reference rules
#   staged  programs held only by link pins in a staging directory: a hook died between
#           pinning its links and publishing them (5 pins cannot be made at once); the
#           next hook or gc removes them
#   half    anything else
classify() {  # PIN-DIR ID CGROUP-DIR
  local pins=$1 id=$2 cg=$3 n p i dir pinned=0 on_cgroup=0 cgid name
  cgid=$(h_cgroup_id "$cg")
  dir=$pins/v1/containers/cgroup:$cgid
  # Links whose last fd died with the hook are released by a kernel work item: wait until
  # the programs on the cgroup are exactly those that pinned links hold.
  for ((i = 0; i < 30; i++)); do
    n=$(h_cgroup_prog_count "$cg")
    p=$(pinned_links_on "$pins" "$cgid")
    [[ $n == "$p" ]] && break
    sleep 0.1
  done
  if [[ $n == 0 && ! -e $dir ]]; then
    STATE_CLASS=none
    STATE_DETAIL="no program on the cgroup, no pin set"
    return
  fi
  if [[ ! -e $dir && $n == "$p" ]]; then
    STATE_CLASS=staged
    STATE_DETAIL="$n programs on the cgroup, held by $p staged link pins ($(h_staging "$pins"))"
    return
  fi
  for name in connect4 connect6 sendmsg4 sendmsg6 egress; do
    [[ -e $dir/$name ]] && pinned=$((pinned + 1))
    [[ $(bpftool -j link show pinned "$dir/$name" 2>/dev/null | jq -r '.cgroup_id // 0') == \
      "$cgid" ]] && on_cgroup=$((on_cgroup + 1))
  done
  local rules
  rules=$(h_status "$HOOK" "$pins" | jq -c --arg id "$id" '.containers[] | select(.id == $id)
    | {rules: (.rules | sort), exceptions: (.exceptions | sort)}')
  STATE_DETAIL="$n programs on the cgroup, $pinned link pins ($on_cgroup on the cgroup),"
  STATE_DETAIL+=" record $(find "$dir" -maxdepth 1 -name 'cgroup-*' -printf '%f' 2>/dev/null || true)"
  STATE_DETAIL+=" id '$(readlink "$dir/id" 2>/dev/null || true)'"
  STATE_DETAIL+=", rules $([[ $rules == "$REFERENCE" ]] && echo "= reference" || echo "'$rules'")"
  if [[ $n == $(e2e_hook_program_count) && $pinned == 5 && $on_cgroup == 5 && -d $dir/cgroup-$cgid &&
    $(readlink "$dir/id" 2>/dev/null) == "$id" && $rules == "$REFERENCE" ]]; then
    STATE_CLASS=full
  else
    STATE_CLASS=half
  fi
}

# What a killed hook left besides the container's enforcement: loaded objects, rules of no
# container, staging directories.
leftovers() {  # PIN-DIR
  local objects staging
  objects=$(h_object_pins "$1")
  staging=$(h_staging "$1")
  echo "objects: $objects pins; rules4/rules6/allow entries:" \
    "$(h_map_entries "$1" rules4)/$(h_map_entries "$1" rules6)/$(h_map_entries "$1" allow);" \
    "staging: ${staging:-none}"
}

expect_full() {  # WHAT PIN-DIR ID CGROUP-DIR
  classify "$2" "$3" "$4"
  if [[ $STATE_CLASS == full ]]; then
    e2e_pass "$1: fully enforced ($STATE_DETAIL)"
  else
    e2e_fail "$1: not fully enforced: $STATE_DETAIL"
  fi
  local staging
  staging=$(h_staging "$2")
  e2e_check "$1: no staging leftovers ${staging:+(got $staging)}" test -z "$staging"
}

# After poststop (and gc): nothing of the container, only the shared objects.
expect_clean() {  # WHAT PIN-DIR CGROUP-DIR
  local what=$1 pins=$2 cg=$3 links pins_left maps objects
  links=$(h_links_of "$pins" | wc -l)
  pins_left=$(h_leftover_pins "$pins")
  maps="$(h_map_entries "$pins" rules4)/$(h_map_entries "$pins" rules6)/$(h_map_entries "$pins" allow)"
  objects=$(h_object_pins "$pins")
  if [[ $links == 0 && $(h_wait_prog_count "$cg" 0) == 0 && -z $pins_left &&
    $maps == 0/0/0 && $objects == $(($(e2e_hook_program_count) + 8)) ]]; then
    e2e_pass "$what: nothing left but the one shared set ($objects object pins)"
  else
    e2e_fail "$what: left: $links links, $(h_cgroup_prog_count "$cg") programs on the cgroup," \
      "pins '${pins_left//$'\n'/ }', rules/exceptions $maps, $objects object pins"
  fi
}

# ---------------------------------------------------------------------------------------
# (a) Synthetic state.
t_part=$(h_ms)
for phase in "${PHASES[@]}"; do
  for recovery in gc create; do
    id=f-$phase-$recovery
    pins=/sys/fs/bpf/ojh-$id
    what="(a) killed after $phase, then $recovery"
    h_sleeper "$id"
    cg=$H_CG2/$id
    h_state "$id" "$H_PID" "$W/bundle" >"$W/state-$id"
    rc=0
    OJH_FAULT_KILL_AT=$phase h_hook_at "$pins" create-runtime <"$W/state-$id" 2>"$W/err-$id" ||
      rc=$?
    if [[ $rc == 137 ]]; then
      e2e_pass "$what: the hook died of SIGKILL after $phase"
    else
      e2e_fail "$what: the hook exited $rc, not killed: $(head -c 200 "$W/err-$id")"
    fi
    classify "$pins" "$id" "$cg"
    after_kill=$STATE_CLASS
    if [[ $STATE_CLASS == none || $STATE_CLASS == full ]]; then
      e2e_pass "$what: right after the kill: $STATE_CLASS ($STATE_DETAIL); $(leftovers "$pins")"
    else
      e2e_fail "$what: HALF STATE after the kill: $STATE_DETAIL; $(leftovers "$pins")"
    fi

    if [[ $recovery == gc ]]; then
      out=$(h_hook_at "$pins" gc 2>&1) || e2e_fail "$what: gc failed: $out"
      e2e_log "$what: gc: $out"
      staging=$(h_staging "$pins")
      e2e_check "$what: gc removed the staging leftovers" test -z "$staging"
      if [[ $after_kill == full ]]; then
        expect_full "$what: gc keeps the live container" "$pins" "$id" "$cg"
      else
        maps="$(h_map_entries "$pins" rules4)/$(h_map_entries "$pins" rules6)/$(h_map_entries "$pins" allow)"
        e2e_check "$what: gc removed the rules of no container (rules/exceptions $maps)" \
          test "$maps" = 0/0/0
      fi
    fi

    rc=0
    h_hook_at "$pins" create-runtime <"$W/state-$id" 2>"$W/err2-$id" || rc=$?
    if [[ $rc == 0 ]]; then
      e2e_pass "$what: the next create-runtime succeeds"
    else
      e2e_fail "$what: the next create-runtime exits $rc: $(head -c 300 "$W/err2-$id")"
    fi
    expect_full "$what: after the next create-runtime" "$pins" "$id" "$cg"
    rc=0
    h_hook_at "$pins" poststop <"$W/state-$id" 2>"$W/err3-$id" || rc=$?
    e2e_check "$what: poststop exits 0 (got $rc $(head -c 200 "$W/err3-$id"))" test "$rc" = 0
    out=$(h_hook_at "$pins" gc 2>&1) || e2e_fail "$what: gc failed: $out"
    expect_clean "$what: after poststop and gc" "$pins" "$cg"
  done
done

e2e_log "(a) took $(($(h_ms) - t_part)) ms"
t_part=$(h_ms)

# ---------------------------------------------------------------------------------------
# (c) Between any two system calls: strace kills the hook on entry to a system call (the
#     call never runs). The state a kill leaves is the state after the last call that changed
#     something that outlives the process (a pin, a directory, a map entry, an attachment),
#     so the kill points are the entries to those calls: bpf() OBJ_PIN, LINK_CREATE,
#     LINK_DETACH, MAP_UPDATE_ELEM, MAP_DELETE_ELEM, mkdir(), rename(), rmdir(), unlink();
#     fd-only work (loading, lookups) dies with the process. Of a run of one bpf() command
#     (13 object pins, the rules, 5 links, 5 link pins, 5 detaches) the first, the second
#     and the last stand for the rest: nothing yet, one done, all but one done. They come from an unfaulted traced run on a fresh pin
#     directory: the shared objects' pinning, the rules, each link, each link pin, the
#     publication; and for poststop each detach, rule removal and unpin.
#     create-runtime: right after the kill the container is not enforced, fully enforced or
#     "staged" (see classify); after gc never staged or half; the next create-runtime then
#     enforces it fully. poststop: whatever the kill left (teardown half done, the
#     container stopped), poststop run again and gc leave nothing.
# KIND N DESCRIPTION for each kill point, from a trace (strace -o) of bpf and file calls.
kill_points() {  # TRACE-FILE
  awk '
    function flush() {
      if (run_n > 2 && last != "") print last
      run_cmd = ""; run_n = 0; last = ""
    }
    function describe(line) {
      sub(/\) += .*/, ")", line)
      gsub(/\/sys\/fs\/bpf\/[^\/]*\/v1\//, "", line)
      gsub(/, (bpf_fd|key|value|target_fd|file_flags|flags)=[^,}]*/, "", line)
      gsub(/\{link_create=\{/, "", line)
      return substr(line, 1, 90)
    }
    { sub(/^[0-9]+ +/, "") }
    /^bpf\(/ {
      nbpf++
      cmd = $0; sub(/^bpf\(/, "", cmd); sub(/,.*/, "", cmd)
      if (cmd !~ /^BPF_(OBJ_PIN|LINK_CREATE|LINK_DETACH|MAP_UPDATE_ELEM|MAP_DELETE_ELEM)$/) next
      point = "bpf " nbpf " " describe($0)
      if (cmd != run_cmd) { flush(); run_cmd = cmd }
      run_n++
      if (run_n <= 2) print point; else last = point
      next
    }
    /^(mkdir|rename|rmdir|unlink)\(/ {
      flush()
      kind = $0; sub(/\(.*/, "", kind)
      n[kind]++
      print kind " " n[kind] " " describe($0)
    }
    END { flush() }' "$1"
}

fault_point() {  # COMMAND KIND N DESCRIPTION
  local command=$1 kind=$2 n=$3 desc=$4 id pins cg rc problems=() first out
  id=c-${command%%-*}-$kind-$n
  pins=/sys/fs/bpf/ojh-$id
  h_sleeper "$id"
  cg=$H_CG2/$id
  h_state "$id" "$H_PID" "$W/bundle" >"$W/state-$id"
  if [[ $command == poststop ]]; then
    h_hook_at "$pins" create-runtime <"$W/state-$id" || problems+=("setup create-runtime failed")
  fi
  rc=0
  nsenter --net="$E2E_HOST_NETNS" -- strace -f -qq -o /dev/null -e trace="$kind" \
    -e inject="$kind:signal=KILL:when=$n" "$HOOK" --pin-dir "$pins" "$command" \
    <"$W/state-$id" >/dev/null 2>"$W/err-$id" || rc=$?
  [[ $rc == 137 ]] || problems+=("not killed (exit $rc: $(head -c 120 "$W/err-$id"))")
  out=$(h_hook_at "$pins" status 2>&1 >/dev/null) ||
    problems+=("status fails on the leftovers: $out")
  classify "$pins" "$id" "$cg"
  first="$STATE_CLASS ($(leftovers "$pins"))"
  if [[ $command == create-runtime ]]; then
    [[ $STATE_CLASS != half ]] || problems+=("HALF STATE after the kill: $STATE_DETAIL")
    # Recovery alternates between gc first and the next create-runtime straight away.
    if ((FAULT_POINTS % 2 == 0)); then
      first+="; gc"
      out=$(h_hook_at "$pins" gc 2>&1) || problems+=("gc failed: $out")
      classify "$pins" "$id" "$cg"
      [[ $STATE_CLASS == none || $STATE_CLASS == full ]] ||
        problems+=("$STATE_CLASS after gc: $STATE_DETAIL")
      [[ -z $(h_staging "$pins") ]] || problems+=("gc left staging: $(h_staging "$pins")")
    fi
    first+="; create-runtime"
    rc=0
    h_hook_at "$pins" create-runtime <"$W/state-$id" 2>"$W/err2-$id" || rc=$?
    [[ $rc == 0 ]] || problems+=("next create-runtime exits $rc: $(head -c 200 "$W/err2-$id")")
    classify "$pins" "$id" "$cg"
    [[ $STATE_CLASS == full ]] ||
      problems+=("not fully enforced after the next create-runtime: $STATE_DETAIL")
    [[ -z $(h_staging "$pins") ]] ||
      problems+=("staging left after the next create-runtime: $(h_staging "$pins")")
  fi
  FAULT_POINTS=$((FAULT_POINTS + 1))
  rc=0
  h_hook_at "$pins" poststop <"$W/state-$id" 2>"$W/err3-$id" || rc=$?
  [[ $rc == 0 ]] || problems+=("poststop exits $rc: $(head -c 200 "$W/err3-$id")")
  out=$(h_hook_at "$pins" gc 2>&1) || problems+=("gc failed: $out")
  local links left maps
  links=$(h_links_of "$pins" | wc -l)
  left=$(h_leftover_pins "$pins")
  maps="$(h_map_entries "$pins" rules4)/$(h_map_entries "$pins" rules6)/$(h_map_entries "$pins" allow)"
  [[ $links == 0 && $(h_wait_prog_count "$cg" 0) == 0 && -z $left && $maps == 0/0/0 ]] ||
    problems+=("left after poststop and gc: $links links, pins '${left//$'\n'/ }', rules $maps")
  local what="(c) $command killed on entry to $kind #$n: $desc"
  if ((${#problems[@]} == 0)); then
    e2e_pass "$what: after the kill: $first: recovered"
  else
    local IFS=';'
    e2e_fail "$what: ${problems[*]}"
  fi
  rm -rf "$pins"
  e2e_remove_cgroup_tree "$cg" || true
}

FAULT_POINTS=0
if command -v strace >/dev/null && strace -qq -o /dev/null -e trace=getpid \
  -e inject=getpid:retval=1 true 2>/dev/null; then
  for command in create-runtime poststop; do
    h_sleeper "trace-$command"
    h_state "trace-$command" "$H_PID" "$W/bundle" >"$W/state-trace-$command"
    pins=/sys/fs/bpf/ojh-trace-$command
    if [[ $command == poststop ]]; then
      h_hook_at "$pins" create-runtime <"$W/state-trace-$command" || e2e_die "trace setup"
    fi
    kinds=(bpf mkdir rename rmdir unlink)
    nsenter --net="$E2E_HOST_NETNS" -- strace -f -qq -o "$W/trace-$command" \
      -e trace="$(IFS=,; echo "${kinds[*]}")" "$HOOK" --pin-dir "$pins" "$command" \
      <"$W/state-trace-$command" >/dev/null || e2e_die "traced $command failed"
    [[ $command == poststop ]] || h_hook_at "$pins" poststop <"$W/state-trace-$command"
    rm -rf "$pins"
    kill_points "$W/trace-$command" >"$W/points-$command"
    e2e_log "(c) $command: $(grep -c ' bpf(' "$W/trace-$command" || true) bpf() calls," \
      "$(wc -l <"$W/points-$command") kill points"
    while read -r kind n desc; do
      fault_point "$command" "$kind" "$n" "$desc"
    done <"$W/points-$command"
  done
else
  e2e_log "(c) skipped: no strace with syscall fault injection"
fi

e2e_log "(c) took $(($(h_ms) - t_part)) ms"
t_part=$(h_ms)

# ---------------------------------------------------------------------------------------
# (b) Real runc: the hook from hooks.d, with the fault in its env.
container_cgroups() {  # ID — cgroup directories named after the container
  find "$H_CG2" -type d -name "$1" 2>/dev/null
}

for phase in "${PHASES[@]}"; do
  id=ojh-fault-$$-$phase
  pins=/sys/fs/bpf/ojh-runc-$phase
  what="(b) runc, killed after $phase"
  marker=$W/marker-$phase
  mkdir -p "$marker"
  e2e_make_bundle "fault-$phase" host true "touch /marker/ran; echo container-ran"
  e2e_bundle_bind "$marker" /marker
  e2e_bundle_wire_hooks
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg phase "$phase" --arg pins "$pins" \
    --arg hook "$FAULT_HOOK" '
    .hooks.createRuntime |= map(.path = $hook | .env = ["OJH_FAULT_KILL_AT=" + $phase]
                                | .args = [.args[0], "--pin-dir", $pins] + .args[1:])
    | .hooks.poststop |= map(.args = [.args[0], "--pin-dir", $pins] + .args[1:])' ||
    e2e_die "editing the hooks of $E2E_BUNDLE"
  rc=0
  e2e_runc_run "$id" "$E2E_BUNDLE" "$W/runc-$phase.out" || rc=$?
  if [[ $rc != 0 && ! -e $marker/ran ]]; then
    e2e_pass "$what: runc refused to start the container (exit $rc, command never ran):" \
      "$(grep -m1 -o 'error running hook[^"]*\|createRuntime[^"]*' "$W/runc-$phase.out" ||
        tail -n 1 "$W/runc-$phase.out" | head -c 200 || true)"
  else
    e2e_fail "$what: runc exit $rc, marker $(ls "$marker"): the container ran" \
      "$(head -c 300 "$W/runc-$phase.out")"
  fi
  e2e_runc delete -f "$id" >/dev/null 2>&1 || true
  out=$(h_hook_at "$pins" gc 2>&1) || e2e_fail "$what: gc failed: $out"
  e2e_log "$what: gc: $out"
  links=$(h_links_of "$pins" | wc -l)
  left=$(h_leftover_pins "$pins")
  maps="$(h_map_entries "$pins" rules4)/$(h_map_entries "$pins" rules6)/$(h_map_entries "$pins" allow)"
  cgs=$(container_cgroups "$id")
  status=$(h_status "$HOOK" "$pins" | jq '.containers | length')
  if [[ $links == 0 && -z $left && $maps == 0/0/0 && -z $cgs && $status == 0 ]]; then
    e2e_pass "$what: after runc delete and gc nothing is left (no links, pins, rules, cgroup)"
  else
    e2e_fail "$what: left after runc delete and gc: $links links, pins '${left//$'\n'/ }'," \
      "rules/exceptions $maps, cgroups '${cgs//$'\n'/ }', status lists $status"
  fi
done

e2e_log "(b) took $(($(h_ms) - t_part)) ms"

# ---------------------------------------------------------------------------------------
# Only shared sets were ever kept: the hook's programs and maps in the system are those
# before the test plus one shared set per pin directory still there, and with every pin
# directory gone, only those before the test.
all_pins=()
for pins in /sys/fs/bpf/ojh-*; do
  [[ -e $pins ]] || continue
  all_pins+=("$pins")
  n=$(h_status "$HOOK" "$pins" | jq '.containers | length')
  ((n == 0)) || e2e_fail "$pins still enforces $n containers"
done
leaked=$(h_leaked_objects "$BASE_PROGS" "$BASE_MAPS" "${all_pins[@]}")
e2e_check "the system's ojh_ programs and maps: those before the test plus one shared set per \
pin directory (${#all_pins[@]}) ${leaked:+(extra: ${leaked//$'\n'/, })}" test -z "$leaked"
rm -rf "${all_pins[@]}"
e2e_remove_cgroup_tree "$H_CG2/ref" || true
leaked=$(h_leaked_objects "$BASE_PROGS" "$BASE_MAPS")
e2e_check "with the pin directories gone, the ojh_ programs and maps are those before the test \
(${leaked:+extra: ${leaked//$'\n'/, }})" test -z "$leaked"

e2e_finish
