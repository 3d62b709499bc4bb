#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317  # helpers below are called through e2e_check and e2e_defer
#
# Rootless podman, for real: an unprivileged user made for this test (with /etc/subuid and
# /etc/subgid ranges) runs podman with the installed hooks.d files (`--hooks-dir`), so the
# runtime and the hook run inside podman's user namespace (docs/rootless.md):
#
#   - controls: without the annotation, and with jail.block-host=false (the hook runs and
#     does nothing), the container runs, as root of a user namespace mapped onto the test
#     user — rootless podman works here;
#   - jail.block-host=true (also in audit mode) is refused without the attach service:
#     podman's error carries the hook's one line ("rootless: the attach service is not
#     running ..."), the container's command never runs and podman removes the container;
#   - the same with an admin config on the host (fail-open = true): inside the user
#     namespace the hook reads only enforce-all from it, so fail-open does not excuse it;
#   - crun as the runtime too (its hooks' stderr goes to run.oci.hooks.stderr);
#   - with the attach service running (`serve`, on a private /run/oci-jail-hook), the
#     service refuses: without systemd the container has no cgroup of its own inside a
#     tree delegated to the user (the VM tier runs the case where it is enforced);
#   - nothing is pinned.
#
# The test runs in lib.sh's isolated view: the user's processes (podman's pause process,
# conmon, containers) stay in the test's cgroup, /dev/shm (podman's lock file), /run/user
# and /etc/containers are private tmpfs there. Only --network none: no network traffic. The
# user, its subordinate id ranges, home (podman's storage) and processes are removed at exit;
# users of runs that were killed are removed by the next run.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=runtimes_lib.sh
source "$(dirname "$0")/runtimes_lib.sh"

RL_COMMENT="oci-jail-hook e2e test_rootless_podman"
RL_USER=ojh-rl-$$  # at most 14 characters (PIDs have at most 7 digits)
RL_SUBID_COUNT=65536
RL_PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
# What the hook says when no attach service listens (docs/rootless.md); with one, what the
# service refuses here (no systemd: no delegated cgroup tree).
REFUSAL="rootless: the attach service is not running (connect /run/oci-jail-hook/attach.sock:"
REFUSAL+=" No such file or directory): an admin enables it with \`systemctl enable --now"
REFUSAL+=" oci-jail-hook.socket\`"

e2e_require_root
e2e_enter_isolated_view "$@"
if why=$(rt_podman_unavailable); then e2e_skip "$why"; fi
for tool in useradd usermod userdel groupdel runuser newuidmap newgidmap; do
  command -v "$tool" >/dev/null ||
    e2e_skip "$tool not installed (rootless podman needs newuidmap/newgidmap: package uidmap)"
done
[[ $(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0) -gt 0 ]] ||
  e2e_skip "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)"
e2e_require_tools
e2e_require_hooks
e2e_init

# ---------------------------------------------------------------------------------------
# The test user

# rl_ids_pids UID FIRST-SUBUID COUNT — pids of processes with UID or a uid of the
# subordinate range among their real, effective, saved and filesystem uids (zombies too:
# userdel counts them).
rl_ids_pids() {
  local uid=$1 first=$2 count=$3 status key real eff saved fs id ids
  for status in /proc/[0-9]*/status; do
    ids=()
    while read -r key real eff saved fs; do
      if [[ $key == Uid: ]]; then
        ids=("$real" "$eff" "$saved" "$fs")
        break
      fi
    done 2>/dev/null <"$status" || continue
    for id in "${ids[@]}"; do
      if ((id == uid || (count > 0 && id >= first && id < first + count))); then
        status=${status#/proc/}
        echo "${status%/status}"
        break
      fi
    done
  done
}

# rl_kill_user_processes UID FIRST-SUBUID COUNT — SIGKILL to every process of the test
# user (only this test runs processes as that user and its subordinate uids), then waits
# until they are gone (the exited conmon processes are zombies until PID 1 reaps them).
rl_kill_user_processes() {
  local i pids
  for ((i = 0; i < 150; i++)); do
    pids=$(rl_ids_pids "$@")
    [[ -z $pids ]] && return 0
    # shellcheck disable=SC2086  # one pid a word
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  e2e_log "processes of uid $1 are still there: $(rl_ids_pids "$@" | tr '\n' ' ')"
  return 1
}

# rl_subid_ranges NAME FILE — "FIRST-LAST" of each of NAME's ranges in /etc/subuid|subgid.
rl_subid_ranges() {
  awk -F: -v name="$1" '$1 == name { print $2 "-" ($2 + $3 - 1) }' "$2" 2>/dev/null
}

# rl_remove_user NAME — removes a user this test made (its comment says so): its processes,
# subordinate id ranges, the user and its group. The home is removed by the caller.
rl_remove_user() {
  local name=$1 uid first=0 count=0 range args=() line
  line=$(getent passwd "$name") || return 0
  [[ $(cut -d: -f5 <<<"$line") == "$RL_COMMENT" ]] || {
    e2e_log "not removing user $name: it was not made by this test"
    return 1
  }
  uid=$(cut -d: -f3 <<<"$line")
  range=$(rl_subid_ranges "$name" /etc/subuid | head -n 1)
  if [[ -n $range ]]; then
    first=${range%-*}
    count=$((${range#*-} - first + 1))
  fi
  rl_kill_user_processes "$uid" "$first" "$count" || true
  for range in $(rl_subid_ranges "$name" /etc/subuid); do args+=(--del-subuids "$range"); done
  for range in $(rl_subid_ranges "$name" /etc/subgid); do args+=(--del-subgids "$range"); done
  ((${#args[@]} == 0)) || usermod "${args[@]}" "$name" || e2e_log "usermod ${args[*]} $name failed"
  userdel "$name" || e2e_log "userdel $name failed"
  if getent group "$name" >/dev/null; then groupdel "$name" || e2e_log "groupdel $name failed"; fi
  rm -f "/dev/shm/libpod_rootless_lock_$uid"  # outside the isolated view (stale runs)
  if grep -q "^$name:" /etc/subuid /etc/subgid || getent passwd "$name" >/dev/null; then
    e2e_log "user $name or its subordinate ids are still there"
    return 1
  fi
}

# Users of runs that were killed: named after the run's PID, which is gone.
rl_reap_stale_users() {
  local name comment
  while IFS=: read -r name _ _ _ comment _; do
    [[ $name =~ ^ojh-rl-([0-9]+)$ && $comment == "$RL_COMMENT" ]] || continue
    _e2e_pid_dead "${BASH_REMATCH[1]}" || continue
    e2e_log "removing user $name left by dead run ${BASH_REMATCH[1]}"
    rl_remove_user "$name" || true
  done < <(getent passwd)
}

# rl_range_free FIRST COUNT — no subordinate range of /etc/subuid or /etc/subgid and no
# user's uid overlaps [FIRST, FIRST+COUNT).
rl_range_free() {
  local first=$1 count=$2
  ! cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: -v f="$first" -v c="$count" '
      NF >= 3 && $2 < f + c && $2 + $3 > f { found = 1 } END { exit !found }' &&
    ! getent passwd | awk -F: -v f="$first" -v c="$count" '
      $3 >= f && $3 < f + c { found = 1 } END { exit !found }'
}

# Creates RL_USER with its home (podman's storage) under the work directory and a
# subordinate range derived from its uid, above what useradd ever hands out.
rl_make_user() {
  local i
  RL_HOME=$E2E_RUN_DIR/home
  chmod 0711 "$E2E_RUN_DIR"  # the user reaches its home, the markers and the rootfs only
  getent passwd "$RL_USER" >/dev/null && e2e_die "user $RL_USER exists already"
  # A user half removed would be worse than a slow exit: from here on the cleanup ignores
  # INT, TERM and HUP and runs to its end.
  e2e_defer "trap '' INT TERM HUP; rl_remove_user '$RL_USER'; rm -rf '$RL_HOME'"
  # useradd fails while another program holds the lock on /etc/passwd: retry.
  for ((i = 0; ; i++)); do
    useradd --system --user-group --create-home --home-dir "$RL_HOME" \
      --shell /usr/sbin/nologin --comment "$RL_COMMENT" "$RL_USER" && break
    ((i < 20)) || e2e_die "useradd $RL_USER failed"
    sleep 0.2
  done
  RL_UID=$(id -u "$RL_USER")
  RL_GID=$(id -g "$RL_USER")
  [[ -z $(rl_subid_ranges "$RL_USER" /etc/subuid) ]] ||
    e2e_die "useradd gave $RL_USER subordinate ids of its own"
  RL_SUBID_FIRST=$((700000000 + RL_UID * RL_SUBID_COUNT))
  rl_range_free "$RL_SUBID_FIRST" "$RL_SUBID_COUNT" ||
    e2e_die "subordinate ids $RL_SUBID_FIRST+$RL_SUBID_COUNT are in use on this machine"
  local range=$RL_SUBID_FIRST-$((RL_SUBID_FIRST + RL_SUBID_COUNT - 1))
  usermod --add-subuids "$range" --add-subgids "$range" "$RL_USER" ||
    e2e_die "usermod --add-subuids/--add-subgids $range $RL_USER"
  e2e_log "user $RL_USER: uid $RL_UID, gid $RL_GID, subordinate ids $range"
}

# rl_as_user COMMAND... — COMMAND as the test user, with a clean environment, in its home;
# killed after two minutes.
rl_as_user() {
  timeout --kill-after 5 120 runuser -u "$RL_USER" -- \
    env -i -C "$RL_HOME" PATH="$RL_PATH" HOME="$RL_HOME" USER="$RL_USER" LOGNAME="$RL_USER" \
    XDG_RUNTIME_DIR="$RL_RUNTIME_DIR" XDG_CONFIG_HOME="$RL_HOME/.config" \
    XDG_DATA_HOME="$RL_HOME/.local/share" XDG_CACHE_HOME="$RL_HOME/.cache" \
    TMPDIR="$RL_HOME/tmp" "$@"
}

# rl_podman ARGS... — rootless podman of the test user: storage (vfs: plain directories)
# in its home, state in its runtime directory; cgroupfs and file events (no systemd).
rl_podman() {
  rl_as_user podman --log-level error --root "$RL_HOME/.local/share/containers/storage" \
    --runroot "$RL_RUNTIME_DIR/containers" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file "$@"
}

# The installed hooks.d files, if the test user can read them and execute their hook;
# otherwise (an install prefix others cannot enter) a copy of both it can, with hook.path
# rewritten.
rl_hooks_dir() {
  local file path usable=1 copy bin
  rl_as_user test -r "$HOOKS_DIR" -a -x "$HOOKS_DIR" || usable=0
  for file in "$HOOKS_DIR"/*.json; do
    path=$(jq -r '.hook.path' "$file")
    rl_as_user test -r "$file" -a -x "$path" || usable=0
  done
  RL_HOOKS_DIR=$HOOKS_DIR
  ((usable)) && return 0
  copy=$E2E_RUN_DIR/hooks
  e2e_log "$RL_USER cannot read $HOOKS_DIR or execute its hook: using a copy in $copy"
  install -d -m 0755 "$copy" "$copy/hooks.d" "$copy/bin"
  for file in "$HOOKS_DIR"/*.json; do
    path=$(jq -r '.hook.path' "$file")
    bin=$copy/bin/$(basename "$path")
    [[ -e $bin ]] || install -m 0755 "$path" "$bin" || e2e_die "copying $path"
    jq --arg path "$bin" '.hook.path = $path' "$file" >"$copy/hooks.d/$(basename "$file")" ||
      e2e_die "rewriting hook.path of $file"
    chmod 0644 "$copy/hooks.d/$(basename "$file")"
  done
  RL_HOOKS_DIR=$copy/hooks.d
}

# ---------------------------------------------------------------------------------------
# Setup. The private mounts come before the user: at exit they are undone after its
# processes are gone.

_rt_private_dir /dev/shm 1777  # podman's lock file, libpod_rootless_lock_<uid>
_rt_private_dir /run/user 0755
# Where the attach service listens (empty until the case that starts it): mounted before
# podman's first run, whose mount namespace would not see a later mount.
_rt_private_dir /run/oci-jail-hook 0755
# /etc/containers as on the host, but without an admin config (until the case that adds one).
ETC_COPY=$E2E_RUN_DIR/etc-containers
mkdir "$ETC_COPY"
if [[ -d /etc/containers ]]; then cp -a /etc/containers/. "$ETC_COPY/"; fi
rm -f "$ETC_COPY/oci-jail-hook.conf"
_rt_private_dir /etc/containers 0755
cp -a "$ETC_COPY/." /etc/containers/ || e2e_die "filling the private /etc/containers"
ADMIN_CONF=/etc/containers/oci-jail-hook.conf

rl_reap_stale_users
rl_make_user
RL_RUNTIME_DIR=/run/user/$RL_UID
install -d -m 0700 -o "$RL_USER" -g "$RL_GID" "$RL_RUNTIME_DIR" "$RL_HOME/tmp" "$RL_HOME/cids"
MARKERS=$E2E_RUN_DIR/markers
install -d -m 0755 -o "$RL_USER" -g "$RL_GID" "$MARKERS"
rl_hooks_dir
# Runs first at exit: podman removes its containers, then the user's processes are killed.
e2e_defer "trap '' INT TERM HUP; rl_podman rm --all --force --time 0"

[[ $(rl_podman info --format '{{.Host.Security.Rootless}}' 2>&1) == true ]] ||
  e2e_skip "podman as $RL_USER is not rootless here: $(rl_podman info 2>&1 | tail -n 2)"
RL_IMAGE=localhost/ojh-busybox
tar -C "$E2E_ROOTFS" -c . | rl_podman import --quiet - "$RL_IMAGE" >/dev/null ||
  e2e_die "rootless podman import of the busybox rootfs"

# Whether rootless podman can run a container here at all (no hooks): if not, say why.
PREFLIGHT=$E2E_RUN_DIR/preflight.out
if ! rl_podman run --rm --pull never --network none --runtime runc "$RL_IMAGE" true \
  </dev/null >"$PREFLIGHT" 2>&1; then
  e2e_skip "rootless podman (runc) cannot run a container here: $(tail -n 2 "$PREFLIGHT")"
fi

# ---------------------------------------------------------------------------------------
# Cases

# rl_run NAME ARGS... — `podman run --rm` as the test user with the hooks.d files; the
# container touches /markers/NAME, prints its uid_map and "container-ran". Output in
# $E2E_RUN_DIR/NAME.out, the container id in $RL_HOME/cids/NAME.cid. Returns podman's
# exit status.
rl_run() {
  local name=$1 rc=0
  shift
  local args=(--hooks-dir "$RL_HOOKS_DIR" run --rm --pull never --network none
    --cidfile "$RL_HOME/cids/$name.cid" --name "ojh-rl-$$-$name" -v "$MARKERS:/markers"
    "$@" "$RL_IMAGE" sh -c "touch /markers/$name && cat /proc/self/uid_map && echo container-ran")
  rm -f "$RL_HOME/cids/$name.cid" "$MARKERS/$name"
  rt_log_command runuser -u "$RL_USER" -- podman "${args[@]}"
  rl_podman "${args[@]}" </dev/null >"$E2E_RUN_DIR/$name.out" 2>&1 || rc=$?
  return "$rc"
}

cid_of() { cat "$RL_HOME/cids/$1.cid" 2>/dev/null || echo "unknown-$1"; }

# The container's uid 0 is the test user: the runtime ran in a user namespace.
mapped_to_test_user() {
  awk -v uid="$RL_UID" '$1 == 0 && $2 == uid { found = 1 } END { exit !found }' "$1"
}

no_container_left() {
  [[ -z $(rl_podman ps --all --quiet --filter "name=^ojh-rl-$$-$1\$") ]]
}

# runs_case NAME ARGS... — the container is created and runs.
runs_case() {
  local name=$1 out=$E2E_RUN_DIR/$1.out
  shift
  if rl_run "$name" "$@"; then
    e2e_pass "$name: rootless podman run succeeded"
  else
    e2e_fail "$name: rootless podman run failed: $(tail -n 3 "$out")"
  fi
  e2e_check "$name: the container ran to its end" grep -qx container-ran "$out"
  e2e_check "$name: the container's command ran (marker written)" test -e "$MARKERS/$name"
  e2e_check "$name: the container's root is uid $RL_UID ($RL_USER) of the host" \
    mapped_to_test_user "$out"
}

# refused_case NAME FILE ARGS... — podman fails, FILE (podman's output, or the hooks' stderr
# for crun) has the hook's line for the container, the command never ran, nothing is left.
refused_case() {
  local name=$1 file=$2 out=$E2E_RUN_DIR/$1.out
  shift 2
  if rl_run "$name" "$@"; then
    e2e_fail "$name: rootless podman run succeeded"
  else
    e2e_pass "$name: rootless podman run failed"
  fi
  rt_expect_hook_refusal "$name: the hook refused" "$file" "$(cid_of "$name")" "$REFUSAL"
  e2e_check "$name: the container's command never ran" test ! -e "$MARKERS/$name"
  e2e_check "$name: podman removed the container" no_container_left "$name"
}

RUNC=(--runtime runc)
runs_case runc-none "${RUNC[@]}"
runs_case runc-false "${RUNC[@]}" --annotation jail.block-host=false
refused_case runc-true "$E2E_RUN_DIR/runc-true.out" "${RUNC[@]}" \
  --annotation jail.block-host=true
refused_case runc-true-audit "$E2E_RUN_DIR/runc-true-audit.out" "${RUNC[@]}" \
  --annotation jail.block-host=true --annotation jail.block-host.mode=audit

# An admin config on the host (root's, 0644) that would let environment failures through:
# the rootless hook does not read it, and still refuses.
printf 'fail-open = true\n' >"$ADMIN_CONF"
chmod 0644 "$ADMIN_CONF"
refused_case admin-conf-true "$E2E_RUN_DIR/admin-conf-true.out" "${RUNC[@]}" \
  --annotation jail.block-host=true
runs_case admin-conf-false "${RUNC[@]}" --annotation jail.block-host=false
rm -f "$ADMIN_CONF"

# crun: it drops the hooks' stderr unless run.oci.hooks.stderr names a file (the runtime
# opens it as the test user).
# crun is a dependency (scripts/deps.sh) and works rootless in the view: not a skip.
if ! command -v crun >/dev/null; then
  e2e_fail "crun not installed (scripts/deps.sh): rootless podman --runtime crun untested"
elif ! rl_run crun-works --runtime crun; then
  e2e_fail "rootless podman --runtime crun cannot run a container here: $(tail -n 1 \
    "$E2E_RUN_DIR/crun-works.out")"
else
  runs_case crun-none --runtime crun
  HOOK_STDERR=$MARKERS/crun-true.hook-stderr
  rl_as_user touch "$HOOK_STDERR"
  refused_case crun-true "$HOOK_STDERR" --runtime crun --annotation jail.block-host=true \
    --annotation "run.oci.hooks.stderr=$HOOK_STDERR"
fi

# The attach service at the default socket, in the private /run/oci-jail-hook.
"$(e2e_hook_path createRuntime)" --pin-dir "$PIN_DIR" serve 2>"$E2E_RUN_DIR/serve.log" &
SERVE=$!
e2e_defer "kill $SERVE 2>/dev/null || true"
for ((i = 0; i < 100; i++)); do
  [[ -S /run/oci-jail-hook/attach.sock ]] && break
  sleep 0.1
done
[[ -S /run/oci-jail-hook/attach.sock ]] || e2e_die "serve did not listen: $(cat "$E2E_RUN_DIR/serve.log")"
REFUSAL="cgroup"
refused_case runc-served "$E2E_RUN_DIR/runc-served.out" "${RUNC[@]}" \
  --annotation jail.block-host=true
e2e_check "the attach service still runs" kill -0 "$SERVE"

if compgen -G "$PIN_DIR/v1/containers/*" >/dev/null; then
  e2e_fail "pins were left: $(ls "$PIN_DIR/v1/containers")"
else
  e2e_pass "nothing pinned"
fi

e2e_finish
