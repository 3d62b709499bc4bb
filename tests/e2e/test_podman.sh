#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317  # helpers below are called through e2e_check
#
# podman with the installed hooks.d files, unchanged (`--hooks-dir`): podman decides from
# their `when` clause to inject the hook, runs createRuntime through runc and poststop itself.
# podman runs in the isolated view, where it sees cgroup v2 (cgroupfs manager, one cgroup
# per container under /libpod_parent), with storage under the work directory, an image
# imported from the busybox rootfs (no registry) and only --network=host (the fake host's
# netns) or --network=ns:<container netns> — never podman's bridge, which would change the
# machine's networking.
#
#   - host network: the annotated container gets EPERM to the fake host's loopback, its
#     veth address and 169.254.169.254, and the listeners log nothing; without the
#     annotation all of it arrives;
#   - own netns: the fake host's addresses are refused, the container's own loopback works;
#   - placement: a detached container's five links are on its own cgroup
#     (/libpod_parent/libpod-<id>), `podman exec` processes are blocked too;
#   - cleanup: after `podman run --rm`, `podman rm -f` of a running container and a detached
#     container that exits by itself, nothing is pinned and the hook's links are back to the
#     baseline;
#   - refusals, visible to the user in podman's error: jail.block-host=yes, --cap-add=NET_RAW
#     and --privileged; the container's command never runs.
#   - crun: used as podman's runtime when it can run here unprivileged; otherwise the test says
#     why not and checks that crun (through podman) refuses a privileged container.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=policy_lib.sh
source "$(dirname "$0")/policy_lib.sh"
# shellcheck source=runtimes_lib.sh
source "$(dirname "$0")/runtimes_lib.sh"

e2e_runc_view "$@"
rt_podman_setup
rt_podman_import_busybox

PORT=18090
OWN_PORT=19090

for proto in tcp udp; do
  pl_listen "$E2E_HOST_NETNS" "$proto" 127.0.0.1 "$PORT"
  pl_listen "$E2E_HOST_NETNS" "$proto" "$E2E_HOST_V4" "$PORT"
done
pl_listen_alias tcp 127.0.0.1 "$PORT" ::ffff:127.0.0.1
pl_listen "$E2E_HOST_NETNS" tcp ::1 "$PORT"
pl_listen "$E2E_HOST_NETNS" tcp "$E2E_HOST_V6" "$PORT"
pl_listen "$E2E_HOST_NETNS" tcp "$E2E_META_V4" "$PORT"
pl_listen "$E2E_HOST_NETNS" tcp "$E2E_META_V6" "$PORT"

# "VERB PROTO ADDR PORT" probes; EXPECT is appended per case.
HOST_NET_PROBES=(
  "connect tcp 127.0.0.1 $PORT" "sendto udp 127.0.0.1 $PORT" "connect tcp ::1 $PORT"
  "connect tcp ::ffff:127.0.0.1 $PORT" "connect tcp $E2E_HOST_V4 $PORT"
  "sendto udp $E2E_HOST_V4 $PORT" "connect tcp $E2E_META_V4 $PORT")
OWN_NET_PROBES=(
  "connect tcp $E2E_HOST_V4 $PORT" "sendto udp $E2E_HOST_V4 $PORT"
  "connect tcp $E2E_HOST_V6 $PORT" "connect tcp $E2E_META_V4 $PORT"
  "connect tcp $E2E_META_V6 $PORT")

quiet() { "$@" >/dev/null; }

# probe_case RUN NETWORK ANNOTATION EXPECT PROBE... — one `podman run --rm` that runs the
# probes. NETWORK is a --network value, ANNOTATION a jail.block-host value or "-" for none.
# With its own netns the container also serves and probes its own loopback, which must work.
probe_case() {
  local run=$1 network=$2 annotation=$3 expect=$4 out=$E2E_RUN_DIR/$1.out script before
  shift 4
  local probes=() own=() args=(--network "$network")
  mapfile -t probes < <(pl_with_expect "$expect" "$@")
  [[ $annotation != - ]] && args+=(--annotation "jail.block-host=$annotation")
  script="echo container-started"
  if [[ $network == ns:* ]]; then
    own=("connect tcp 127.0.0.1 $OWN_PORT reached" "sendto udp 127.0.0.1 $OWN_PORT reached")
    pl_listen_log tcp 127.0.0.1 "$OWN_PORT" "$E2E_RUN_DIR/$run.own.log"
    pl_listen_log udp 127.0.0.1 "$OWN_PORT" "$E2E_RUN_DIR/$run.own.log"
    script+=$'\n'"$(e2e_sh_own_listeners "$OWN_PORT" "tcp 127.0.0.1" "udp 127.0.0.1")"
  fi
  script+=$'\n'"$(pl_probe_script "$run" "${probes[@]}" "${own[@]}")"
  ((${#own[@]})) && script+=$'\n'"$(e2e_sh_own_log 0.3)"
  script+="
echo container-done"
  before=$(rt_hook_links)
  if rt_podman_run "$run" "$out" "${args[@]}" --tmpfs /tmp "$RT_IMAGE" sh -c "$script"; then
    e2e_pass "$run: podman run succeeded"
  else
    e2e_fail "$run: podman run failed: $(tail -n 3 "$out")"
  fi
  e2e_check "$run: the container ran to its end" grep -qx container-done "$out"
  ((${#own[@]})) && e2e_own_log "$out" "$E2E_RUN_DIR/$run.own.log"
  pl_check_probes "$run" "$out" "${probes[@]}" "${own[@]}"
  if [[ $annotation == true ]]; then
    rt_expect_cleaned "$run: after podman run --rm" "$(rt_podman_cid "$run")" "$before"
  fi
}

# refusal_case RUN PATTERNS ARGS... — `podman run --rm ARGS... IMAGE touch /markers/RUN`
# must fail with the hook's message (containing each of the |-separated PATTERNS) in
# podman's output; the command never runs and nothing is left.
refusal_case() {
  local run=$1 out=$E2E_RUN_DIR/$1.out before patterns=()
  IFS='|' read -r -a patterns <<<"$2"
  shift 2
  before=$(rt_hook_links)
  if rt_podman_run "$run" "$out" -v "$MARKERS:/markers" "$@" "$RT_IMAGE" touch "/markers/$run"
  then
    e2e_fail "$run: podman run succeeded"
  else
    e2e_pass "$run: podman run failed"
  fi
  rt_expect_hook_refusal "$run: in podman's output" "$out" "$(rt_podman_cid "$run")" "${patterns[@]}"
  e2e_check "$run: the container's command never ran" test ! -e "$MARKERS/$run"
  rt_expect_cleaned "$run" "$(rt_podman_cid "$run")" "$before"
}

wait_exited() {  # ID
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(rt_podman inspect --format '{{.State.Status}}' "$1" 2>/dev/null) == exited ]] &&
      return 0
    sleep 0.1
  done
  return 1
}

# A detached container: enforcement is on its own cgroup and covers `podman exec`; then it
# ends by `podman rm -f` (REMOVE=rm) or by itself (podman's cleanup, started by conmon).
detached_case() {
  local run=$1 end=$2 out=$E2E_RUN_DIR/$1.out id before cg command=(sleep 60)
  before=$(rt_hook_links)
  [[ $end == exits ]] && command=(sh -c 'sleep 1.5')
  rt_log_command "${RT_PODMAN[@]}" run -d "${RT_PODMAN_RUN[@]}" --network host \
    --annotation jail.block-host=true "$RT_IMAGE" "${command[@]}"
  if ! id=$(rt_podman run -d --name "ojh-pm-$$-$run" "${RT_PODMAN_RUN[@]}" --network host \
    --annotation jail.block-host=true "$RT_IMAGE" "${command[@]}" 2>"$out"); then
    e2e_fail "$run: podman run -d failed: $(tail -n 3 "$out")"
    return
  fi
  cg=$(rt_podman_cgroup "$id") || cg=unknown
  e2e_check "$run: the container's cgroup is its own, /libpod_parent/libpod-<id>" \
    test "$cg" == "/sys/fs/cgroup/libpod_parent/libpod-$id"
  rt_expect_enforced "$run" "$id" "$cg"
  if [[ $end == rm ]]; then
    # A process that `podman exec` starts joins the container's cgroup.
    local probe="connect tcp 127.0.0.1 $PORT blocked"
    rt_podman exec "$id" sh -c "$(pl_probe_script "$run-exec" "$probe")" >"$out.exec" 2>&1 ||
      true
    pl_check_probes "$run-exec" "$out.exec" "$probe"
    e2e_check "$run: podman rm -f succeeded" quiet rt_podman rm --force --time 0 "$id"
    rt_expect_cleaned "$run: after podman rm -f" "$id" "$before"
  else
    e2e_check "$run: the container exited by itself" wait_exited "$id"
    # conmon starts `podman container cleanup` when the container exits; it runs poststop.
    local i
    for ((i = 0; i < 50; i++)); do
      [[ -n $(e2e_pin_entries "$PIN_DIR" "$id") ]] || break
      sleep 0.1
    done
    rt_expect_cleaned "$run: after it exited (podman's cleanup)" "$id" "$before"
    e2e_check "$run: podman rm succeeded" quiet rt_podman rm "$id"
  fi
}

# crun as podman's runtime. crun 1.8 raises RLIMIT_MEMLOCK (which needs CAP_SYS_RESOURCE)
# to load a device eBPF program for every container that is not --privileged; where that
# fails, only the refusal of a privileged container is checked.
crun_cases() {
  if ! command -v crun >/dev/null; then
    printf 'NOTE: crun not installed: podman with --runtime crun not tested\n'
    return
  fi
  local saved=("${RT_PODMAN_RUN[@]}")
  RT_PODMAN_RUN=(--runtime crun "${RT_PODMAN_RUN[@]:2}")  # in place of "--runtime runc"
  if rt_podman_run crun-works "$E2E_RUN_DIR/crun-works.out" --network none "$RT_IMAGE" true; then
    probe_case crun-host-true host true blocked "${HOST_NET_PROBES[@]}"
  else
    printf 'NOTE: podman --runtime crun cannot run an unprivileged container here (%s):' \
      "$(grep -o 'crun: .*' "$E2E_RUN_DIR/crun-works.out" | head -n 1)"
    printf ' crun 1.8 raises RLIMIT_MEMLOCK before loading its device program, which needs'
    printf ' CAP_SYS_RESOURCE. Only --privileged avoids that program, and the hook refuses'
    printf ' privileged containers (podman 4.3 ignores --cap-drop with --privileged).\n'
  fi
  # crun drops the hooks' stderr; run.oci.hooks.stderr gets it to a file.
  local hook_err=$E2E_RUN_DIR/crun-privileged.hook-stderr before out=$E2E_RUN_DIR/crun-priv.out
  before=$(rt_hook_links)
  if rt_podman_run crun-priv "$out" --privileged --network host -v "$MARKERS:/markers" \
    --annotation jail.block-host=true --annotation "run.oci.hooks.stderr=$hook_err" \
    "$RT_IMAGE" touch /markers/crun-priv; then
    e2e_fail "crun --privileged: podman run succeeded"
  else
    e2e_pass "crun --privileged: podman run failed"
  fi
  touch "$hook_err"
  rt_expect_hook_refusal "crun --privileged: in run.oci.hooks.stderr" \
    "$hook_err" "$(rt_podman_cid crun-priv)" CAP_SYS_ADMIN CAP_NET_RAW
  e2e_check "crun --privileged: the container's command never ran" \
    test ! -e "$MARKERS/crun-priv"
  rt_expect_cleaned "crun --privileged" "$(rt_podman_cid crun-priv)" "$before"
  RT_PODMAN_RUN=("${saved[@]}")
}

# Controls first: they show that listeners and probes work before enforcement is judged.
probe_case host-none host - reached "${HOST_NET_PROBES[@]}"
probe_case host-true host true blocked "${HOST_NET_PROBES[@]}"
probe_case ownns-none "ns:$E2E_CT_NETNS" - reached "${OWN_NET_PROBES[@]}"
probe_case ownns-true "ns:$E2E_CT_NETNS" true blocked "${OWN_NET_PROBES[@]}"
detached_case detached-rm rm
detached_case detached-exits exits
refusal_case bad-annotation 'annotation jail.block-host|"true"|"false"' \
  --network host --annotation jail.block-host=yes
refusal_case net-raw 'CAP_NET_RAW|--cap-drop=NET_RAW' \
  --network host --cap-add NET_RAW --annotation jail.block-host=true
refusal_case privileged 'CAP_SYS_ADMIN' --network host --privileged \
  --annotation jail.block-host=true
crun_cases

e2e_finish
