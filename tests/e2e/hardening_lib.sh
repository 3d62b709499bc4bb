# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # sh -c and jq programs are single-quoted on purpose
#
# The fixtures of the scenarios that feed the installed hook states of their own and of the
# hardening scenarios (bad input, races, faults, cycles, upgrades): synthetic "containers" (a
# sleeping process in a test cgroup of the isolated view), OCI states for them, the hook run
# as a runtime runs it, runc with several state roots, and the accounting the scenarios
# compare before and after: cgroup links, the hook's BPF objects, pins and rule-map entries.
# Source it after lib.sh, whose fixtures these build on.

# The cgroup2 mount of the isolated view (its root is the test's own cgroup).
H_CG2=/sys/fs/cgroup

# h_sleeper CGNAME — makes $H_CG2/CGNAME (if missing) and starts a sleeping process in it;
# sets H_PID. Both are removed at exit.
h_sleeper() {
  local cg=$H_CG2/$1
  if [[ ! -d $cg ]]; then
    mkdir -p "$cg" || e2e_die "mkdir $cg"
    e2e_defer "e2e_remove_cgroup_tree '$cg'"
  fi
  # Not a job of this shell: bash would report its death when the cgroup is killed.
  H_PID=$(sh -c 'sleep 3600 >/dev/null 2>&1 </dev/null & echo $!')
  e2e_defer "kill $H_PID 2>/dev/null || true"
  echo "$H_PID" >"$cg/cgroup.procs" || e2e_die "cannot move $H_PID into $cg"
}

# h_state ID PID BUNDLE [ANNOTATIONS-JSON] — a createRuntime state like runc's.
h_state() {
  jq -cn --arg id "$1" --argjson pid "$2" --arg b "$3" \
    --argjson a "${4:-{\"jail.block-host\":\"true\"\}}" \
    '{ociVersion:"1.0.2", id:$id, status:"creating", pid:$pid, bundle:$b, annotations:$a}'
}

# h_bundle DIR — a bundle whose config.json has nothing the hook uses (no DNS exceptions).
h_bundle() {
  mkdir -p "$1"
  echo '{"ociVersion":"1.0.2"}' >"$1/config.json"
}

# Number of programs attached to a cgroup directory (links and legacy attachments alike).
# bpftool before 7.4 (Debian 12's 7.1) queries only the attach types it knows, which leaves
# out the AF_UNIX ones (49, 50): their links are counted from the link list then.
h_cgroup_prog_count() {
  local shown n cgid
  shown=$({ bpftool -j cgroup show "$1" 2>/dev/null || true; } | jq -s -c 'add // []')
  n=$(jq 'length' <<<"$shown")
  if ! jq -e 'any(.[]; .attach_type | tostring | test("unix"))' <<<"$shown" >/dev/null &&
    cgid=$(stat -c %i "$1" 2>/dev/null); then
    n=$((n + $(bpftool -j link list | jq --argjson cg "$cgid" '[.[] | select(.type == "cgroup"
      and .cgroup_id == $cg and (.attach_type | tostring | IN("49", "50")))] | length')))
  fi
  echo "$n"
}

# Programs attached anywhere in the isolated view's cgroup tree, one "cgroup type" a line.
h_view_attachments() {
  { bpftool -j cgroup tree "$H_CG2" 2>/dev/null || true; } |
    jq -r '.[]? | .cgroup as $cg | .programs[]? | "\($cg) \(.attach_type)"' | sort
}

# IDs of cgroup links, sorted, as one JSON array.
h_cgroup_link_ids() {
  bpftool -j link list | jq -c '[.[] | select(.type == "cgroup") | .id] | sort'
}

# h_ojh_ids prog|map — IDs of the kernel's programs or maps whose names start with ojh_
# (the hook's objects; names are cut to 15 characters by the kernel), one a line, sorted.
# System-wide: another process loading the hook's objects at the same time shows up here.
h_ojh_ids() {
  bpftool -j "$1" list | jq -r '.[] | select(.name // "" | startswith("ojh_")) | .id' | sort -n
}

# h_shared_ids PIN-DIR prog|map — IDs of the shared objects pinned in PIN-DIR/v1/objects.
h_shared_ids() {
  local dir=$1/v1/objects kind=$2 pin
  [[ -d $dir ]] || return 0
  for pin in "$dir"/*; do
    bpftool -j "$kind" show pinned "$pin" 2>/dev/null | jq -r '.id // empty'
  done | sort -n
}

# h_reachable_ids — "prog ID" and "map ID" lines, sorted, for the BPF objects this test's
# view can reach: pinned in a bpffs mounted in its mount namespace (link pins count as
# their program), attached to a cgroup of its cgroup tree, and the maps those programs use.
# A hook that has exited holds nothing else: anything it left behind is reachable here.
h_reachable_ids() {
  local mnt pin json id r_progs=() r_maps=()
  while read -r mnt; do
    while IFS= read -r -d '' pin; do
      if json=$(bpftool -j link show pinned "$pin" 2>/dev/null); then
        r_progs+=("$(jq -r '.prog_id' <<<"$json")")
      elif json=$(bpftool -j prog show pinned "$pin" 2>/dev/null); then
        r_progs+=("$(jq -r '.id' <<<"$json")")
      elif json=$(bpftool -j map show pinned "$pin" 2>/dev/null); then
        r_maps+=("$(jq -r '.id' <<<"$json")")
      fi
    done < <(find "$mnt" -xdev -type f -print0 2>/dev/null)
  done < <(awk '{ for (i = 7; $i != "-"; i++) {} } $(i + 1) == "bpf" { print $5 }' \
    /proc/self/mountinfo | sort -u)
  while read -r id; do
    [[ -n $id ]] && r_progs+=("$id")
  done < <({ bpftool -j cgroup tree "$H_CG2" 2>/dev/null || true; } |
    jq -r '.[]? | .programs[]? | .id')
  for id in "${r_progs[@]}"; do
    while read -r json; do
      [[ -n $json ]] && r_maps+=("$json")
    done < <({ bpftool -j prog show id "$id" 2>/dev/null || true; } | jq -r '.map_ids[]?')
  done
  { printf 'prog %s\n' "${r_progs[@]}"; printf 'map %s\n' "${r_maps[@]}"; } | grep -v ' $' | sort -u
}

# h_leaked_objects BASELINE-PROGS BASELINE-MAPS PIN-DIR... — prints the hook's objects (ojh_*)
# that exist now but neither existed at the baseline nor are the shared set of one of the
# PIN-DIRs, and that this test can reach (h_reachable_ids): those are leaks. The hook's
# objects that appeared meanwhile but are out of reach belong to another user of the hook on
# this machine (another test, a benchmark): they are logged, not counted. The kernel frees
# the objects of a killed process from a work item, so this waits a little for them to go.
h_leaked_objects() {
  local base_progs=$1 base_maps=$2 i extra pins known reachable
  shift 2
  for ((i = 0; i < 30; i++)); do
    known=$(
      printf '%s\n' "$base_progs" | sed 's/^/prog /'
      printf '%s\n' "$base_maps" | sed 's/^/map /'
      for pins in "$@"; do
        h_shared_ids "$pins" prog | sed 's/^/prog /'
        h_shared_ids "$pins" map | sed 's/^/map /'
      done
    )
    extra=$(comm -23 <({ h_ojh_ids prog | sed 's/^/prog /'; h_ojh_ids map | sed 's/^/map /'; } |
      sort) <(grep -v ' $' <<<"$known" | sort))
    [[ -z $extra ]] && return 0
    sleep 0.1
  done
  reachable=$(h_reachable_ids)
  local foreign
  foreign=$(comm -23 <(sort <<<"$extra") <(sort <<<"$reachable") | tr '\n' ' ')
  [[ -z $foreign ]] ||
    e2e_log "NOTE: ojh_ objects out of this test's reach appeared meanwhile (another user of" \
      "the hook on this machine): $foreign"
  comm -12 <(sort <<<"$extra") <(sort <<<"$reachable")
}

# h_map_entries PIN-DIR NAME — number of entries of a shared map (rules4, rules6, allow).
h_map_entries() {
  local pin=$1/v1/objects/$2
  [[ -e $pin ]] || {
    echo 0
    return
  }
  { bpftool -j map dump pinned "$pin" 2>/dev/null || echo '[]'; } | jq 'length'
}

# h_status HOOK PIN-DIR — `status --json` of that pin directory.
h_status() {
  "$1" --pin-dir "$2" status --json
}

# h_leftover_pins PIN-DIR — container pin directories, records of the id index and staging
# leftovers, one a line.
h_leftover_pins() {
  [[ -d $1/v1 ]] || return 0
  find "$1/v1" -mindepth 1 \( -path "$1/v1/containers/*" -o -path "$1/v1/ids/*" \
    -o -name 'staging-*' \) -print | sort
}

# h_wait_prog_count CGROUP-DIR WANT — waits up to 3 s for the attachment count to settle at
# WANT (a link whose last fd closed is released by a kernel work item); prints the count.
h_wait_prog_count() {
  local n i
  for ((i = 0; i < 30; i++)); do
    n=$(h_cgroup_prog_count "$1")
    [[ $n == "$2" ]] && break
    sleep 0.1
  done
  echo "$n"
}

# h_ms — milliseconds since the epoch.
h_ms() { echo $(($(date +%s%N) / 1000000)); }

# h_links_of PIN-DIR — "cgroup-id attach-type" of every cgroup link (system-wide) that runs
# one of the shared programs pinned in PIN-DIR, sorted. Links of other users of the hook on
# this machine run other program instances and are not counted.
h_links_of() {
  local progs
  progs=$(h_shared_ids "$1" prog | jq -sc '.')
  bpftool -j link list | jq -r --argjson p "$progs" '
    .[] | select(.type == "cgroup" and (.prog_id as $id | $p | index($id)))
    | "\(.cgroup_id) \(.attach_type)"' | sort
}

# h_cgroup_id DIR — the cgroup id (kernfs inode number) of a cgroup2 directory.
h_cgroup_id() { stat -c %i "$1"; }

# h_probe_from NETNS CGROUP-DIR PROBE-ARGS... — runs jail-probe as a fresh process moved into
# the cgroup first (and in NETNS); returns the probe's exit status (0 reached, 1 blocked).
h_probe_from() {
  local netns=$1 cg=$2
  shift 2
  nsenter --net="$netns" -- sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh \
    "$cg" "$PROBE" "$@" >/dev/null 2>&1
}

# h_staging PIN-DIR — names of staging leftovers (interrupted hooks), space-separated.
h_staging() {
  [[ -d $1/v1 ]] || return 0
  find "$1/v1" -maxdepth 1 -name 'staging-*' -printf '%f ' 2>/dev/null || true
}

# h_object_pins PIN-DIR — number of pinned shared objects (5 programs, 7 with the AF_UNIX
# ones, + 8 maps when loaded; pins are regular files, the records beside them symlinks).
h_object_pins() {
  if [[ -d $1/v1/objects ]]; then
    find "$1/v1/objects" -mindepth 1 -type f | wc -l
  else
    echo 0
  fi
}

# Containers under several runc state roots ($W/runc-NAME): two runtimes, or two stores, on
# one node.
# h_runc_in ROOT-NAME ARGS... — runc with that state root, in the fake host's netns.
h_runc_in() {
  local root=$W/runc-$1
  shift
  mkdir -p "$root"
  e2e_in_netns "$E2E_HOST_NETNS" runc --root "$root" "$@"
}

# h_runc_detach ROOT-NAME BUNDLE ID — `runc run --detach` there, its output in
# $W/run-ROOT-NAME.out; the container is deleted at exit. Returns runc's exit status.
h_runc_detach() {
  local rc=0
  e2e_defer "h_runc_in $1 delete -f '$3'"
  h_runc_in "$1" run --detach --bundle "$2" "$3" </dev/null >"$W/run-$1.out" 2>&1 || rc=$?
  return "$rc"
}

# h_exec_refused STEP WHAT ROOT-NAME ID TAG — `runc exec` of jail-probe in container ID: TCP
# and UDP to the fake host ($E2E_HOST_V4, port $PORT) are refused (the probe exits 1); the
# probes are tagged STEP-TAG-tcp and STEP-TAG-udp.
h_exec_refused() {
  local step=$1 what=$2 root=$3 id=$4 tag=$5 proto rc out
  for proto in tcp udp; do
    rc=0
    out=$(h_runc_in "$root" exec "$id" /bin/jail-probe connect "$proto" "$E2E_HOST_V4" "$PORT" \
      "$step-$tag-$proto" 2>&1) || rc=$?
    e2e_check "$step: $what: $proto to the fake host is refused (exit $rc: $out)" test "$rc" = 1
  done
}

# h_synthetic_view "$@" — the fixture of a scenario with synthetic containers that it probes:
# lib.sh's e2e_hook_view (isolated view, installed hooks, work directory; HOOK and W), the
# tools and the fake host's network.
h_synthetic_view() {
  e2e_hook_view "$@"
  e2e_require_tools
  e2e_setup_network
}

# h_hook_at PIN-DIR ARGS... — the hook ($HOOK) in the fake host's network namespace (where a
# runtime runs it), with that pin directory.
h_hook_at() {
  local pins=$1
  shift
  nsenter --net="$E2E_HOST_NETNS" -- "$HOOK" --pin-dir "$pins" "$@"
}

# h_hook ARGS... — the same with the test's pin directory.
h_hook() { h_hook_at "$PIN_DIR" "$@"; }

# h_enforced CGNAME BUNDLE — a synthetic container (h_sleeper CGNAME, its state names the
# container CGNAME) that the hook enforces now and releases (poststop) at exit. The hook's
# output is captured: create-runtime must not leave anything holding the caller's pipes.
h_enforced() {
  local out
  h_sleeper "$1"
  out=$(h_state "$1" "$H_PID" "$2" | h_hook create-runtime 2>&1) ||
    e2e_die "create-runtime of $1: $out"
  e2e_defer "h_state '$1' 0 '$2' | h_hook poststop || true"
}

# h_wait_until SECONDS COMMAND... — runs COMMAND every 10 ms until it succeeds (prints the
# milliseconds that took) or SECONDS pass (returns 1).
h_wait_until() {
  local start limit
  start=$(h_ms)
  limit=$((start + $1 * 1000))
  shift
  until "$@"; do
    (($(h_ms) < limit)) || return 1
    sleep 0.01
  done
  echo $(($(h_ms) - start))
}
