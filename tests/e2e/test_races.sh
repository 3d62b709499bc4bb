#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Concurrency: many hooks at once against one pin directory, as a node starting a deployment
# sees them. Synthetic states for sleeping processes in test cgroups of the isolated view;
# the hooks run in a fake host network namespace, so its loopback is "the host".
#   1. 64 create-runtime at once for 64 containers, on a pin directory that does not exist
#      yet (the first one loads the shared programs while 63 wait): all exit 0; all 64 are
#      listed by status, each cgroup has exactly its 5 links running the one shared set of
#      programs, each container has exactly the rules a container enforced alone gets, and a
#      probe from each cgroup to the fake host's loopback is blocked.
#   2. The same, on a pin directory whose parent has no bpffs yet: 64 hooks race to mount it,
#      and there must be exactly one bpffs mount afterwards, holding every container.
#   3. The same container twice at once (two create-runtime for one id and pid), 8 times:
#      both exit 0 (the second finds the first one's complete pin set and re-applies the
#      rules under the lock), leaving exactly one pin set and 5 links.
#   4. All poststops at once (the doubled containers get two each): everything is gone, the
#      links running our programs are back to none, the rule maps are empty; once the
#      cgroups are removed, the per-cgroup policy storage is freed as well.
# OJH_RACE_N overrides the number of containers (default 64).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

h_synthetic_view "$@"
NPROGS=$(e2e_hook_program_count) # five, seven with the AF_UNIX programs (6.7+)
N=${OJH_RACE_N:-64}
DOUBLES=8
h_bundle "$W/bundle"
PORT=18080
e2e_listen "$E2E_HOST_NETNS" tcp 127.0.0.1 "$PORT"

# Containers: cgroup $H_CG2/<round>-<i>, a sleeper in it, a state file.
make_containers() {  # ROUND COUNT
  local i
  for ((i = 0; i < $2; i++)); do
    h_sleeper "$1-$i"
    h_state "$1-$i" "$H_PID" "$W/bundle" >"$W/state-$1-$i"
  done
}

# Hooks started in the background and collected by wait_hooks: RCS[ID/COPY] = exit status.
declare -A RCS=()
RUN_PIDS=()
RUN_NAMES=()
start_hooks() {  # PIN-DIR COMMAND ROUND COUNT [COPIES]
  local pins=$1 command=$2 round=$3 count=$4 copies=${5:-1} i c id
  for ((i = 0; i < count; i++)); do
    for ((c = 0; c < copies; c++)); do
      id=$round-$i
      # Each hook blocks on its own FIFO until wait_hooks feeds them all at once, so that
      # they reach the pin directory together rather than in the order they were forked.
      rm -f "$W/fifo-$id-$c"
      mkfifo "$W/fifo-$id-$c"
      h_hook_at "$pins" "$command" <"$W/fifo-$id-$c" >"$W/out-$command-$id-$c" \
        2>"$W/err-$command-$id-$c" &
      RUN_PIDS+=($!)
      RUN_NAMES+=("$id/$c")
    done
  done
}
wait_hooks() {
  local i name writers=()
  for name in "${RUN_NAMES[@]}"; do
    cat "$W/state-${name%/*}" >"$W/fifo-${name%/*}-${name#*/}" &
    writers+=($!)
  done
  wait "${writers[@]}"
  for i in "${!RUN_PIDS[@]}"; do
    RCS[${RUN_NAMES[i]}]=0
    wait "${RUN_PIDS[i]}" || RCS[${RUN_NAMES[i]}]=$?
  done
  RUN_PIDS=()
  RUN_NAMES=()
}
run_parallel() {  # PIN-DIR COMMAND ROUND COUNT [COPIES]
  start_hooks "$@"
  wait_hooks
}

# The rules and exceptions one container gets when enforced alone: the reference.
reference() {  # PIN-DIR
  make_containers ref 1
  h_hook_at "$1" create-runtime <"$W/state-ref-0" || e2e_die "reference container not enforced"
  h_status "$HOOK" "$1" | jq -c '.containers[0] | {rules: (.rules | sort),
    exceptions: (.exceptions | sort)}' >"$W/reference"
  REF_V4=$(h_map_entries "$1" rules4)
  REF_V6=$(h_map_entries "$1" rules6)
  REF_ALLOW=$(h_map_entries "$1" allow)
  h_hook_at "$1" poststop <"$W/state-ref-0" || e2e_die "reference container not released"
  e2e_log "reference: $(jq -r '.rules | length' "$W/reference") rules ($REF_V4 v4, $REF_V6 v6)," \
    "$REF_ALLOW exceptions"
}

# Every check of "COUNT containers of ROUND are enforced" on PIN-DIR.
check_enforced() {  # PIN-DIR ROUND COUNT WHAT
  local pins=$1 round=$2 count=$3 what=$4 i id bad=() status
  for ((i = 0; i < count; i++)); do
    id=$round-$i
    [[ ${RCS[$id/0]} == 0 && ! -s $W/err-create-runtime-$id-0 ]] ||
      bad+=("$id: exit ${RCS[$id/0]} $(head -c 200 "$W/err-create-runtime-$id-0")")
  done
  e2e_expect_none "$what: all $count create-runtime exited 0 without a word on stderr" \
    "$what: ${#bad[@]} hooks failed" "${bad[@]}"

  status=$(h_status "$HOOK" "$pins")
  local listed
  listed=$(jq --arg r "$round-" --argjson n "$NPROGS" '[.containers[] | select(.id | startswith($r))
    | select(.cgroup_alive and (.links | length) == $n
             and (.links | contains(["connect4","connect6","egress","sendmsg4","sendmsg6"])))]
    | length' <<<"$status")
  e2e_check "$what: status --json lists $count containers with $NPROGS live links each (got $listed)" \
    test "$listed" = "$count"

  local ref wrong
  ref=$(cat "$W/reference")
  wrong=$(jq -r --arg r "$round-" --argjson ref "$ref" '.containers[]
    | select(.id | startswith($r))
    | select({rules: (.rules | sort), exceptions: (.exceptions | sort)} != $ref) | .id' \
    <<<"$status" | head -n 5 || true)
  if [[ -z $wrong ]]; then
    e2e_pass "$what: every container has exactly the reference rules and exceptions"
  else
    e2e_fail "$what: rules differ from the reference for: ${wrong//$'\n'/ }"
  fi

  # Links, seen by the kernel: one per program (5, or 7 with AF_UNIX), each running a program
  # of the shared set.
  local links want_links=0 cg cgid n
  links=$(h_links_of "$pins")
  bad=()
  for ((i = 0; i < count; i++)); do
    cg=$H_CG2/$round-$i
    cgid=$(h_cgroup_id "$cg")
    n=$(grep -c "^$cgid " <<<"$links" || true)
    [[ $n == "$NPROGS" && $(h_cgroup_prog_count "$cg") == "$NPROGS" ]] ||
      bad+=("$round-$i: $n links")
    want_links=$((want_links + NPROGS))
  done
  e2e_expect_none "$what: each cgroup has exactly $NPROGS links of the shared programs and $NPROGS programs" \
    "$what: wrong links on ${#bad[@]} cgroups" "${bad[@]}"

  local v4 v6 allow
  v4=$(h_map_entries "$pins" rules4)
  v6=$(h_map_entries "$pins" rules6)
  allow=$(h_map_entries "$pins" allow)
  if [[ $v4 == $((count * REF_V4)) && $v6 == $((count * REF_V6)) &&
    $allow == $((count * REF_ALLOW)) ]]; then
    e2e_pass "$what: shared maps hold exactly $count x the reference ($v4 v4 rules," \
      "$v6 v6 rules, $allow exceptions)"
  else
    e2e_fail "$what: shared maps hold $v4 v4 / $v6 v6 rules / $allow exceptions, want" \
      "$((count * REF_V4)) / $((count * REF_V6)) / $((count * REF_ALLOW))"
  fi

  local objects
  objects=$(find "$pins/v1/objects" -mindepth 1 -type f | wc -l)
  e2e_check "$what: one shared set of objects ($((NPROGS + 8)) pins: $NPROGS programs, 8 maps; got $objects)" \
    test "$objects" = $((NPROGS + 8))
  e2e_check "$what: no staging leftovers" test -z "$(find "$pins/v1" -name 'staging-*')"

  bad=()
  for ((i = 0; i < count; i++)); do
    local rc=0
    h_probe_from "$E2E_HOST_NETNS" "$H_CG2/$round-$i" connect tcp 127.0.0.1 "$PORT" || rc=$?
    [[ $rc == 1 ]] || bad+=("$round-$i: probe exit $rc")
  done
  e2e_expect_none "$what: a probe from each of the $count cgroups to the host's loopback is blocked" \
    "$what: probes not blocked" "${bad[@]}"
}

check_released() {  # PIN-DIR ROUND COUNT WHAT
  local pins=$1 round=$2 count=$3 what=$4 i id c bad=() left
  for id in "${!RCS[@]}"; do
    [[ $id == "$round"-* ]] || continue
    c=${id#*/}
    id=${id%/*}
    [[ ${RCS[$id/$c]} == 0 && ! -s $W/err-poststop-$id-$c ]] ||
      bad+=("$id/$c: exit ${RCS[$id/$c]} $(head -c 200 "$W/err-poststop-$id-$c")")
  done
  e2e_expect_none "$what: every poststop exited 0" "$what: ${#bad[@]} poststops failed" \
    "${bad[@]}"
  left=$(h_links_of "$pins" | wc -l)
  e2e_check "$what: no link runs our programs any more (got $left)" test "$left" = 0
  bad=()
  for ((i = 0; i < count; i++)); do
    n=$(h_wait_prog_count "$H_CG2/$round-$i" 0)
    [[ $n == 0 ]] || bad+=("$round-$i: $n programs")
  done
  e2e_expect_none "$what: no program attached to any of the $count cgroups" \
    "$what: programs still attached" "${bad[@]}"
  left=$(h_status "$HOOK" "$pins" | jq '.containers | length')
  e2e_check "$what: status --json lists no container (got $left)" test "$left" = 0
  left=$(h_leftover_pins "$pins")
  e2e_check "$what: no container pins, no staging leftovers ${left:+(got ${left//$'\n'/ })}" \
    test -z "$left"
  local v4 v6 allow
  v4=$(h_map_entries "$pins" rules4)
  v6=$(h_map_entries "$pins" rules6)
  allow=$(h_map_entries "$pins" allow)
  e2e_check "$what: rule and exception maps are empty (got $v4 / $v6 / $allow)" \
    test "$v4/$v6/$allow" = 0/0/0
}

# Removes the cgroups of a round (killing their sleepers) and waits for the kernel to free
# their policy and counter storage: nothing of the hook may outlive the cgroups.
check_storage_freed() {  # PIN-DIR ROUND COUNT WHAT
  local pins=$1 round=$2 count=$3 what=$4 i policy counters before want
  # The kernel keeps a cgroup's storage until the cgroup itself is freed, not only while
  # programs are attached: released cgroups still count here.
  before=$(h_map_entries "$pins" policy)
  e2e_log "$what: policy storage entries while the cgroups live: $before"
  want=$((before - count))
  for ((i = 0; i < count; i++)); do
    e2e_remove_cgroup_tree "$H_CG2/$round-$i" || e2e_log "could not remove $round-$i"
  done
  for ((i = 0; i < 100; i++)); do
    policy=$(h_map_entries "$pins" policy)
    counters=$(h_map_entries "$pins" counters)
    [[ $policy == "$want" && $counters == "$want" ]] && break
    sleep 0.1
  done
  e2e_check "$what: the $count cgroups' policy and counter storage is freed with them \
($before entries before, $policy / $counters after, want $want)" test "$policy/$counters" = "$want/$want"
}

# ---------------------------------------------------------------------------------------
# The probe works: from a cgroup nobody enforces, the host's loopback is reached.
mkdir "$H_CG2/control"
e2e_defer "rmdir '$H_CG2/control'"
rc=0
h_probe_from "$E2E_HOST_NETNS" "$H_CG2/control" connect tcp 127.0.0.1 "$PORT" || rc=$?
[[ $rc == 0 ]] || e2e_die "control probe from an unenforced cgroup: exit $rc, want 0 (reached)"

PINS=/sys/fs/bpf/ojh-races
reference "$PINS"
make_containers a "$N"
make_containers dbl "$DOUBLES"
t0=$(h_ms)
run_parallel "$PINS" create-runtime a "$N"
t1=$(h_ms)
e2e_log "$N create-runtime at once on a fresh pin directory: $((t1 - t0)) ms"
check_enforced "$PINS" a "$N" "1. $N at once"

# 3. The same container twice at once.
run_parallel "$PINS" create-runtime dbl "$DOUBLES" 2
bad=()
outcomes=()
for ((i = 0; i < DOUBLES; i++)); do
  id=dbl-$i
  outcomes+=("${RCS[$id/0]}/${RCS[$id/1]}")
  [[ ${RCS[$id/0]} == 0 && ${RCS[$id/1]} == 0 ]] ||
    bad+=("$id: exits ${RCS[$id/0]}/${RCS[$id/1]}: $(cat "$W/err-create-runtime-$id-0" \
      "$W/err-create-runtime-$id-1" | head -c 300 || true)")
done
e2e_log "3. doubled create-runtime exit statuses: ${outcomes[*]}"
if ((${#bad[@]} == 0)); then
  e2e_pass "3. the same container twice at once: both hooks exit 0, $DOUBLES times"
else
  e2e_fail "3. the same container twice at once: ${bad[*]:0:3}"
fi
bad=()
status=$(h_status "$HOOK" "$PINS")
links=$(h_links_of "$PINS")
for ((i = 0; i < DOUBLES; i++)); do
  id=dbl-$i
  n_status=$(jq --arg id "$id" '[.containers[] | select(.id == $id)] | length' <<<"$status")
  entry=$(e2e_pin_entries "$PINS" "$id")
  pins=0
  [[ -n $entry ]] && pins=$(find "$entry" -mindepth 1 -maxdepth 1 -type f | wc -l)
  n_links=$(grep -c "^$(h_cgroup_id "$H_CG2/$id") " <<<"$links" || true)
  rules_ok=$(jq --arg id "$id" --argjson ref "$(cat "$W/reference")" '.containers[]
    | select(.id == $id) | {rules: (.rules | sort), exceptions: (.exceptions | sort)} == $ref' \
    <<<"$status")
  [[ $n_status == 1 && $pins == "$NPROGS" && $n_links == "$NPROGS" && $rules_ok == true ]] ||
    bad+=("$id: listed $n_status, $pins link pins, $n_links links, rules ok: $rules_ok")
done
if ((${#bad[@]} == 0)); then
  e2e_pass "3. each doubled container has one pin set, 5 links and the reference rules"
else
  e2e_fail "3. doubled containers: ${bad[*]:0:3}"
fi
n=$(find "$PINS/v1/containers" -mindepth 1 -maxdepth 1 | wc -l)
e2e_check "3. $((N + DOUBLES)) container pin directories in all (got $n)" test "$n" = $((N + DOUBLES))

# 4. Every poststop at once, two for each doubled container.
t0=$(h_ms)
start_hooks "$PINS" poststop a "$N"
start_hooks "$PINS" poststop dbl "$DOUBLES" 2
wait_hooks
t1=$(h_ms)
e2e_log "$((N + 2 * DOUBLES)) poststop at once: $((t1 - t0)) ms"
check_released "$PINS" a "$N" "4. $N poststops at once"
check_released "$PINS" dbl "$DOUBLES" "4. doubled poststops at once"
check_storage_freed "$PINS" a "$N" "4. cgroups removed"

# 2. The bpffs mount race: the pin directory's parent is a plain directory.
MNT=$W/bpf-mnt
mkdir "$MNT"
e2e_defer "umount -R '$MNT' 2>/dev/null || true"
PINS2=$MNT/ojh
make_containers b "$N"
t0=$(h_ms)
run_parallel "$PINS2" create-runtime b "$N"
t1=$(h_ms)
e2e_log "$N create-runtime at once, bpffs not mounted yet: $((t1 - t0)) ms"
mounts=$(awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l)
e2e_check "2. exactly one bpffs mounted on the pin directory's parent (got $mounts)" \
  test "$mounts" = 1
check_enforced "$PINS2" b "$N" "2. $N at once, bpffs mount race"
run_parallel "$PINS2" poststop b "$N"
check_released "$PINS2" b "$N" "2. $N poststops at once"

e2e_finish
