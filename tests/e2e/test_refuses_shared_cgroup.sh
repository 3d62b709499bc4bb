#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016  # the helper program below is single-quoted on purpose
#
# Runs on the REAL cgroup layout (no isolated view) and first of the e2e tests: the other
# tests that run on the host's own layout rely on the hook refusing to attach to a cgroup it
# shares with others. The installed hook is fed synthetic createRuntime states whose pid
# sits in
#   (b) the very cgroup the hook runs in              (a test cgroup),
#   (c) the parent of the cgroup the hook runs in     (a test cgroup),
#   (a) the root of the unified hierarchy             (only once (b) and (c) were refused).
# Each must end with exit 1, one stderr line, no program attached to that cgroup and nothing
# pinned. The hook runs in a private mount namespace with its --pin-dir on a private bpffs,
# so even a hook that wrongly attached with a pinned link is detached when it ends.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

E2E_VIEW=host
e2e_require_commands jq unshare bpftool timeout
e2e_hook_view "$@"
CG2=$(e2e_cgroup2_mount) || e2e_skip "no cgroup2 (unified) hierarchy mounted"
TEST_CG=$CG2/ojh-e2e-refuse-$$
mkdir "$TEST_CG" || e2e_die "cannot create $TEST_CG"
e2e_defer "e2e_remove_cgroup_tree '$TEST_CG'"
mkdir "$TEST_CG/hook"

programs_on() {  # CGROUP-DIR — programs attached directly to it, one JSON line
  bpftool -j cgroup show "$1" | jq -cs 'add // [] | sort_by(.id)'
}

# Starts a sleeping process in CGROUP-DIR ("" = where this script is): SLEEPER_PID.
start_sleeper() {
  sleep 300 >/dev/null 2>&1 &
  SLEEPER_PID=$!
  e2e_defer "kill $SLEEPER_PID"
  [[ -z $1 ]] || echo "$SLEEPER_PID" >"$1/cgroup.procs" ||
    e2e_die "cannot move $SLEEPER_PID into $1"
}

# run_hook CASE PID TARGET-CGROUP-DIR HOOK-CGROUP-DIR("" = stay) — results in $E2E_RUN_DIR/CASE
run_hook() {
  local name=$1 pid=$2 target=$3 join=$4 dir=$E2E_RUN_DIR/$1
  mkdir -p "$dir/bpffs"
  jq -n --arg id "ojh-refuse-$$-$name" --argjson pid "$pid" --arg bundle "$dir" \
    '{ociVersion: "1.0.2-dev", id: $id, status: "creating", pid: $pid, bundle: $bundle,
      annotations: {"jail.block-host": "true"}}' >"$dir/state.json"
  programs_on "$target" >"$dir/programs.before"
  unshare --mount --propagation private -- bash -c '
    dir=$1 target=$2 join=$3
    shift 3
    mount -t bpf bpf "$dir/bpffs" || exit 1
    if [[ -n $join ]]; then echo $$ >"$join/cgroup.procs" || exit 1; fi
    rc=0
    timeout 60 "$@" --pin-dir "$dir/bpffs/oci-jail-hook" create-runtime \
      <"$dir/state.json" >"$dir/stdout" 2>"$dir/stderr" || rc=$?
    echo "$rc" >"$dir/rc"
    bpftool -j cgroup show "$target" | jq -cs "add // [] | sort_by(.id)" >"$dir/programs.during"
    find "$dir/bpffs" -mindepth 1 >"$dir/pins"
    ' run-hook "$dir" "$target" "$join" "$HOOK" || e2e_die "$name: could not run the hook"
  # Pins died with the mount namespace; a legacy attachment would still be here.
  programs_on "$target" >"$dir/programs.after"
}

# expect_refused CASE WHAT TARGET [MESSAGE-REGEX] — returns 1 when anything was attached.
expect_refused() {
  local name=$1 what=$2 target=$3 regex=${4:-} dir=$E2E_RUN_DIR/$1 stderr lines attached=0
  stderr=$(cat "$dir/stderr")
  lines=$(wc -l <"$dir/stderr")
  e2e_check "$what: hook exits 1 (got $(cat "$dir/rc"))" grep -qx 1 "$dir/rc"
  if [[ $lines == 1 && $stderr == "oci-jail-hook: container ojh-refuse-$$-$name: "* ]]; then
    e2e_pass "$what: one stderr line: $stderr"
  else
    e2e_fail "$what: expected one line 'oci-jail-hook: container ojh-refuse-$$-$name: ...', got: $stderr"
  fi
  if [[ -n $regex ]]; then
    e2e_check "$what: the message says /$regex/" grep -qiE -- "$regex" "$dir/stderr"
  fi
  if cmp -s "$dir/programs.before" "$dir/programs.during" &&
    cmp -s "$dir/programs.before" "$dir/programs.after"; then
    e2e_pass "$what: nothing attached to ${target#"$CG2"}/"
  else
    attached=1
    e2e_fail "$what: PROGRAMS ATTACHED to ${target#"$CG2"}/: before $(cat "$dir/programs.before")," \
      "while the hook's pins lived $(cat "$dir/programs.during"), after $(cat "$dir/programs.after")"
  fi
  e2e_check "$what: nothing pinned for any container" \
    test -z "$(grep -F "/containers/" "$dir/pins")"
  return "$attached"
}

# Undoes what a wrong hook left on the real root cgroup: programs attached without a link.
detach_new_programs() {  # CASE TARGET
  local dir=$E2E_RUN_DIR/$1 target=$2 id type
  jq -r --slurpfile before "$dir/programs.before" \
    '.[] | select(.id as $id | $before[0] | map(.id) | index($id) | not)
     | "\(.id) \(.attach_type)"' "$dir/programs.after" |
    while read -r id type; do
      e2e_log "detaching program $id ($type) from $target"
      bpftool cgroup detach "$target" "$type" id "$id" || e2e_log "could not detach $id"
    done
}

refused_test_cgroups=1

# (b) Same cgroup as the hook.
start_sleeper "$TEST_CG"
run_hook same-cgroup "$SLEEPER_PID" "$TEST_CG" "$TEST_CG"
expect_refused same-cgroup "(b) container cgroup = the hook's own cgroup" "$TEST_CG" ||
  refused_test_cgroups=0
grep -qx 1 "$E2E_RUN_DIR/same-cgroup/rc" || refused_test_cgroups=0

# (c) Parent of the hook's cgroup.
run_hook parent-cgroup "$SLEEPER_PID" "$TEST_CG" "$TEST_CG/hook"
expect_refused parent-cgroup "(c) container cgroup = parent of the hook's cgroup" "$TEST_CG" ||
  refused_test_cgroups=0
grep -qx 1 "$E2E_RUN_DIR/parent-cgroup/rc" || refused_test_cgroups=0

# (a) The root cgroup — only for a hook that has shown it refuses shared cgroups.
if ((refused_test_cgroups == 0)); then
  e2e_fail "(a) root cgroup: NOT RUN — the hook did not refuse a shared test cgroup, so it is" \
    "not fed the host's root cgroup. Fix (b)/(c) first; every other e2e test depends on this."
else
  start_sleeper ""
  if [[ $(sed -n 's/^0:://p' "/proc/$SLEEPER_PID/cgroup") != / ]]; then
    echo "$SLEEPER_PID" >"$CG2/cgroup.procs" ||
      e2e_die "cannot move $SLEEPER_PID into the root cgroup"
  fi
  run_hook root-cgroup "$SLEEPER_PID" "$CG2" ""
  if ! expect_refused root-cgroup "(a) container cgroup = root of the unified hierarchy" \
    "$CG2" "root cgroup"; then
    detach_new_programs root-cgroup "$CG2"
  fi
fi

e2e_finish
