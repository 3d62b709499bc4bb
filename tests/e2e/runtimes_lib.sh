# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # jq programs are single-quoted on purpose
#
# Helpers for the tests that start containers with podman or crun instead of runc
# (test_podman.sh, test_crun.sh, demo.sh). Source it after lib.sh. Both runtimes run in
# lib.sh's isolated view (a private cgroup2-only tree and bpffs) and in the fake host netns,
# like runc in the other tests:
# - crun 1.8 refuses hybrid cgroup hosts, and in the view it only needs config.json without
#   linux.resources (its device program would raise RLIMIT_MEMLOCK, which needs
#   CAP_SYS_RESOURCE);
# - podman keeps its storage and state under the test's work directory; the few places it
#   writes no matter what (SHM locks, netavark's run directory, runc's state root, the image
#   blob cache) get a private tmpfs inside the view.

# ---------------------------------------------------------------------------------------
# The hook's links: cgroup links of the programs the hook pinned in PIN_DIR. The view's bpffs
# is the test's own, so these are exactly the links the hook under test made, whatever else
# runs on the machine.

_RT_HOOK_PROGS=" "

# Program ids of the hook's shared objects, remembered once seen: a link that outlives its
# container still points at them after the pins are gone.
_rt_collect_hook_progs() {
  local file id
  [[ -d $PIN_DIR ]] || return 0
  while IFS= read -r -d '' file; do
    id=$(bpftool -j prog show pinned "$file" 2>/dev/null | jq -r '.id // empty') || continue
    [[ -n $id && $_RT_HOOK_PROGS != *" $id "* ]] && _RT_HOOK_PROGS+="$id "
  done < <(find "$PIN_DIR" -type f -not -path '*/containers/*' -print0)
}

# rt_hook_links — "link-id attach-type cgroup-id" of every link of the hook's programs.
rt_hook_links() {
  _rt_collect_hook_progs
  bpftool -j link list | jq -r --arg progs "$_RT_HOOK_PROGS" '
    ($progs | split(" ") | map(select(. != "") | tonumber)) as $ids
    | .[] | select(.type == "cgroup" and (.prog_id as $p | $ids | index($p)))
    | "\(.id) \(.attach_type) \(.cgroup_id)"' | e2e_attach_type_names | sort -n
}

# rt_expect_enforced WHAT ID CGROUP-DIR — the hook's five links for container ID, and no
# other link of the hook, sit on CGROUP-DIR (the container's own cgroup), each pinned under
# the container's pin directory; `oci-jail-hook status` lists it.
rt_expect_enforced() {
  local what=$1 id=$2 cg=$3 cgid got expected name link_cgroup entry
  if ! cgid=$(stat -c %i "$cg" 2>/dev/null); then
    e2e_fail "$what: the container's cgroup $cg does not exist"
    return
  fi
  got=$(rt_hook_links | awk -v cg="$cgid" '$3 == cg { print $2 }' | sort)
  expected=$(e2e_hook_attach_types)
  if [[ $got == "$expected" ]]; then
    e2e_pass "$what: the hook's $(wc -l <<<"$expected") links are on the container's cgroup ${cg#/sys/fs/cgroup}"
  else
    e2e_fail "$what: the hook's links on ${cg#/sys/fs/cgroup} are [${got//$'\n'/, }]," \
      "expected [${expected//$'\n'/, }]"
  fi
  entry=$(e2e_pin_entries "$PIN_DIR" "$id")
  if [[ $entry != "$PIN_DIR/v1/containers/cgroup:$cgid" ]]; then
    e2e_fail "$what: the container's pin entries are [${entry//$'\n'/, }], expected" \
      "$PIN_DIR/v1/containers/cgroup:$cgid"
    return
  fi
  for name in connect4 connect6 sendmsg4 sendmsg6 egress; do
    link_cgroup=$(bpftool -j link show pinned "$entry/$name" 2>/dev/null |
      jq -r '.cgroup_id // empty') || true
    [[ $link_cgroup == "$cgid" ]] || {
      e2e_fail "$what: pin $name is not a link on the container's cgroup (${link_cgroup:-none})"
      return
    }
  done
  e2e_pass "$what: the five link pins of the container are links on its cgroup"
  e2e_check "$what: 'oci-jail-hook status' lists the container" e2e_status_lists "$id"
}

# rt_expect_cleaned WHAT ID LINKS-BEFORE — nothing left for container ID: no pin directory,
# the hook's links are those of LINKS-BEFORE (rt_hook_links), status no longer lists it.
rt_expect_cleaned() {
  local what=$1 id=$2 before=$3 after
  e2e_check "$what: nothing pinned for the container" test -z "$(e2e_pin_entries "$PIN_DIR" "$id")"
  after=$(rt_hook_links)
  if [[ $after == "$before" ]]; then
    e2e_pass "$what: the hook's cgroup links are back to the baseline (${before:-none})"
  else
    e2e_fail "$what: the hook's cgroup links were [${before//$'\n'/; }], are [${after//$'\n'/; }]"
  fi
  e2e_check "$what: 'oci-jail-hook status' no longer lists the container" e2e_status_omits "$id"
}

# rt_expect_hook_refusal WHAT FILE ID PATTERN... — FILE holds the hook's one-line refusal for
# container ID, and that line contains every PATTERN (fixed strings).
rt_expect_hook_refusal() {
  local what=$1 file=$2 id=$3 line pattern
  shift 3
  line=$(grep -F -- "oci-jail-hook: container $id: " "$file" | head -n 1) || true
  if [[ -z $line ]]; then
    e2e_fail "$what: no 'oci-jail-hook: container $id:' line; got: $(tail -n 2 "$file")"
    return
  fi
  line="oci-jail-hook: container $id: ${line#*"oci-jail-hook: container $id: "}"
  for pattern in "$@"; do
    if [[ $line != *"$pattern"* ]]; then
      e2e_fail "$what: the hook's message lacks '$pattern': $line"
      return
    fi
  done
  e2e_pass "$what: the hook's message: ${line:0:150}"
}

# rt_quote ARGS... — the words as one shell command line: plain words as they are, others in
# single quotes (or $'...' when they contain one).
rt_quote() {
  local words=() arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
      words+=("$arg")
    elif [[ $arg != *"'"* ]]; then
      words+=("'$arg'")
    else
      words+=("$(printf '%q' "$arg")")
    fi
  done
  echo "${words[*]}"
}

# rt_log_command ARGS... — logs a command line the way a shell user would type it.
rt_log_command() {
  e2e_log "\$ $(rt_quote "$@")"
}

# ---------------------------------------------------------------------------------------
# _rt_private_dir DIR MODE — a private tmpfs over DIR inside the isolated view (whose mount
# namespace is the test's own). A DIR that does not exist is created first and removed at
# exit.
_rt_private_dir() {
  local dir=$1 mode=$2 missing=() parent
  [[ -n ${E2E_IN_VIEW:-} ]] || e2e_die "_rt_private_dir $dir outside the isolated view"
  parent=$dir
  while [[ ! -e $parent ]]; do
    missing=("$parent" "${missing[@]}")
    parent=$(dirname "$parent")
  done
  for parent in "${missing[@]}"; do
    mkdir "$parent" || e2e_die "mkdir $parent"
    e2e_defer "rmdir '$parent'"
  done
  mount -t tmpfs -o "mode=$mode" tmpfs "$dir" || e2e_die "mounting a private tmpfs on $dir"
  e2e_defer "umount '$dir'"
}

# ---------------------------------------------------------------------------------------
# podman

# rt_podman_unavailable — prints why podman cannot run here (and succeeds), or fails.
rt_podman_unavailable() {
  local tool
  for tool in podman conmon; do
    if ! command -v "$tool" >/dev/null; then
      echo "$tool is not installed"
      return 0
    fi
  done
  if [[ -z ${E2E_IN_VIEW:-} ]]; then
    echo "podman runs only in the isolated view (its SHM locks and run directories are kept" \
      "private there); unset E2E_VIEW"
    return 0
  fi
  return 1
}

# rt_podman_setup — private storage and state for podman under the work directory; sets
# RT_PODMAN (podman and its global options), split for printing into RT_PODMAN_STORAGE (this
# test's throw-away storage) and RT_PODMAN_HOST (what this host needs), and RT_PODMAN_RUN
# (options every `podman run` here needs). Call after e2e_init and e2e_setup_network.
rt_podman_setup() {
  local why dir
  if why=$(rt_podman_unavailable); then e2e_skip "$why"; fi
  _rt_private_dir /dev/shm 1777
  for dir in /run/containers /run/runc /run/crun /var/lib/containers /etc/containers/networks; do
    _rt_private_dir "$dir" 0700
  done
  RT_PODMAN_DIR=$E2E_RUN_DIR/podman
  mkdir -p "$RT_PODMAN_DIR"
  # The run root is on the view's private /run/containers: podman wants its path shorter
  # than 50 characters. vfs: plain directories, no overlay mounts to clean up and no demands
  # on the filesystem under the work directory.
  RT_PODMAN_STORAGE=(--root "$RT_PODMAN_DIR/root" --runroot /run/containers/storage
    --tmpdir "$RT_PODMAN_DIR/tmp" --storage-driver vfs)
  # cgroupfs: there is no systemd to ask; file: no journald either.
  RT_PODMAN_HOST=(--cgroup-manager cgroupfs --events-backend file)
  RT_PODMAN=(podman --hooks-dir "$HOOKS_DIR" "${RT_PODMAN_STORAGE[@]}" "${RT_PODMAN_HOST[@]}")
  # podman's default ulimits are higher than root may raise them to on hosts where root lacks
  # CAP_SYS_RESOURCE ("error setting rlimit type 7"): ask for what podman itself runs with
  # (it lowers its RLIMIT_NPROC to 32768 and takes RLIMIT_NOFILE up to 1048576). In the
  # cgroup2 view there is no pids controller, which runc would need for podman's default
  # pids limit.
  local nofile nproc
  nofile=$(_rt_ulimit_at_most -Hn 1048576)
  nproc=$(_rt_ulimit_at_most -Hu 32768)
  # shellcheck disable=SC2034  # used by the scripts that source this file
  RT_PODMAN_RUN=(--runtime runc --pids-limit -1 --ulimit "nofile=$nofile:$nofile"
    --ulimit "nproc=$nproc:$nproc")
  # Removes containers (their poststop hooks run) before the view and its netns go away.
  e2e_defer "rt_podman rm --all --force --time 0"
}

_rt_ulimit_at_most() {  # ULIMIT-OPTION MAX
  local value
  value=$(ulimit "$1")
  if [[ $value == unlimited ]] || ((value > $2)); then value=$2; fi
  echo "$value"
}

# rt_podman ARGS... — podman with the private storage, run in the fake host netns (the host
# the hook protects). Warnings (podman cannot move conmon into a cgroup of its own in a tree
# without controllers) are left out.
rt_podman() {
  nsenter --net="$E2E_HOST_NETNS" -- "${RT_PODMAN[@]}" --log-level error "$@"
}

# rt_podman_run RUN OUTFILE ARGS... — `podman run --rm` with the options every run here needs,
# logged the way a user would type it; the container id goes to $E2E_RUN_DIR/RUN.cid
# (rt_podman_cid RUN). Returns podman's exit status.
rt_podman_run() {
  local run=$1 out=$2 rc=0
  shift 2
  rm -f "$E2E_RUN_DIR/$run.cid"
  rt_log_command "${RT_PODMAN[@]}" run --rm "${RT_PODMAN_RUN[@]}" "$@"
  rt_podman run --rm --cidfile "$E2E_RUN_DIR/$run.cid" --name "ojh-$$-$run" \
    "${RT_PODMAN_RUN[@]}" "$@" </dev/null >"$out" 2>&1 || rc=$?
  return "$rc"
}

rt_podman_cid() { cat "$E2E_RUN_DIR/$1.cid" 2>/dev/null || echo "unknown-$1"; }

# rt_podman_import_busybox — lib.sh's busybox rootfs as the image localhost/ojh-busybox.
rt_podman_import_busybox() {
  RT_IMAGE=localhost/ojh-busybox
  tar -C "$E2E_ROOTFS" -c . | rt_podman import --quiet - "$RT_IMAGE" >/dev/null ||
    e2e_die "podman import of the busybox rootfs"
}

# rt_podman_cgroup ID — the cgroup directory of a running podman container.
rt_podman_cgroup() {
  local pid
  pid=$(rt_podman inspect --format '{{.State.Pid}}' "$1") || return 1
  echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
}

# ---------------------------------------------------------------------------------------
# crun

# rt_crun_setup — a private crun state root; every container is deleted at exit.
rt_crun_setup() {
  command -v crun >/dev/null || e2e_skip "crun not installed"
  [[ -n ${E2E_IN_VIEW:-} ]] ||
    e2e_skip "crun refuses hybrid cgroup hosts: it runs only in the isolated view"
  RT_CRUN_ROOT=$E2E_RUN_DIR/crun
  mkdir -p "$RT_CRUN_ROOT"
}

# rt_crun ARGS... — crun with the private state root, in the fake host netns.
rt_crun() {
  nsenter --net="$E2E_HOST_NETNS" -- crun --root "$RT_CRUN_ROOT" "$@"
}

# rt_crun_bundle NAME NET ANNOTATION SCRIPT — lib.sh's e2e_make_bundle made fit for crun
# here: no linux.resources, and the hooks' stderr (which crun otherwise drops) appended to
# RT_HOOK_STDERR (run.oci.hooks.stderr). Wire the hooks after the last edit.
rt_crun_bundle() {
  e2e_make_bundle "$@"
  RT_HOOK_STDERR=$E2E_BUNDLE/hook.stderr
  : >"$RT_HOOK_STDERR"
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg stderr "$RT_HOOK_STDERR" '
    del(.linux.resources) | .annotations["run.oci.hooks.stderr"] = $stderr' ||
    e2e_die "editing $E2E_BUNDLE/config.json for crun"
}

# rt_crun_run ID OUTFILE — foreground `crun run` of E2E_BUNDLE; returns crun's exit status.
rt_crun_run() {
  local id=$1 out=$2 rc=0
  e2e_defer "rt_crun delete --force '$id'"
  rt_crun run --bundle "$E2E_BUNDLE" "$id" </dev/null >"$out" 2>&1 || rc=$?
  return "$rc"
}
