# SPDX-License-Identifier: Apache-2.0
# Guest-side helpers of the VM tier, sourced by run-guest.sh and every test_*.sh in the
# guest (the 9p share is mounted at /share; results go to /share/results).
#
# A test file is a list of scenarios, each a function that reads as what it checks:
#
#   bridge_enforced() {
#     probes_run crun-bridge "${ENFORCE[@]}" -- $(host_probes crun-bridge "$GW")
#     expect_blocked crun-bridge "$GW"
#   }
#   scenario "crun, bridge network: host addresses refused" bridge_enforced
#
# `scenario` runs the function in a subshell with its output in results/logs/<slug>.log and
# appends "ok N - NAME" or "not ok N - NAME # first failure" to results/tap. A check that
# fails calls `fail CAUSE` and the scenario goes on, so one run reports every cause.
# run-guest.sh has set up, before any test file runs: the dummy interface ojh0 with the
# addresses below, TCP and UDP listeners on every address of the guest at $PORT (arrivals
# in $LISTEN_LOG), and the image $IMAGE (busybox, jail-probe and ojh-probes, no registry),
# for root and in the rootless storage of each of $ROOTLESS_USERS (as_user runs their podman).
# shellcheck shell=bash
# shellcheck disable=SC2034  # the constants are for the test files that source this one

RESULTS=/share/results
PROBE=/usr/local/libexec/ojh-vm/jail-probe
HOOK=/usr/libexec/oci/hooks.d/oci-jail-hook
PINS=/sys/fs/bpf/oci-jail-hook/v1/containers
IMAGE=localhost/ojh-busybox
STATE=/run/ojh-vm
LISTEN_LOG=$STATE/listen.log
PORT=18080
OWN_PORT=19090
# Documentation ranges (RFC 5737, RFC 3849) on the dummy interface: the guest's "uplink".
DUMMY_V4=192.0.2.1
DUMMY_V6=2001:db8:1::1
METADATA=169.254.169.254
PASTA_HOST=169.254.1.2
ENFORCE=(--annotation jail.block-host=true)
# podman's global options (--runtime, --cgroup-manager) for probes_run; a scenario sets it
# with `local PODMAN_OPTS=(...)`.
PODMAN_OPTS=()
# The podman of probes_run, detached_run and container_cgroup: root's; a rootless scenario
# sets `local PODMAN CID_DIR=DIR-THE-USER-OWNS; mapfile -t PODMAN < <(user_command USER podman)`.
PODMAN=(podman)
# Bounds one podman command: a hung container must fail its scenario, not the whole run.
PODMAN_TIMEOUT=240
# The image's ordinary users (tests/vm/image.sh): subordinate ids, lingering (so user@UID.service
# and its delegated cgroup tree exist from boot), nothing else.
ROOTLESS_USERS=(alice bob)
# Where podman writes --cidfile (probes_run, detached_run, cid); a rootless scenario sets it
# to a directory its user owns.
CID_DIR=$STATE

log() { printf '%s %s\n' "$(date +%T)" "$*"; }

# fail CAUSE — records one failure of the running scenario (the first becomes its TAP cause).
fail() {
  log "FAIL: $*"
  printf '%s\n' "$*" >>"$SCENARIO_CAUSES"
}

# scenario NAME FUNCTION [ARG...] — see the header.
scenario() {
  local name=$1 slug rc=0 n cause
  shift
  slug=$(printf '%s' "$name" | tr -c 'A-Za-z0-9.-' '_' | cut -c1-80)
  mkdir -p "$RESULTS/logs"
  SCENARIO_LOG=$RESULTS/logs/$slug.log
  SCENARIO_CAUSES=$STATE/causes.$slug
  : >"$SCENARIO_CAUSES"
  log "scenario: $name" >"$SCENARIO_LOG"
  ("$@") >>"$SCENARIO_LOG" 2>&1 || rc=$?
  if ((rc != 0)) && [[ ! -s $SCENARIO_CAUSES ]]; then
    echo "the scenario stopped with status $rc" >>"$SCENARIO_CAUSES"
  fi
  n=$(($(grep -c '^\(not \)\?ok ' "$RESULTS/tap" 2>/dev/null || true) + 1))
  if [[ -s $SCENARIO_CAUSES ]]; then
    cause=$(head -n 1 "$SCENARIO_CAUSES")
    (($(wc -l <"$SCENARIO_CAUSES") > 1)) && cause+=" (+$(($(wc -l <"$SCENARIO_CAUSES") - 1)) more)"
    echo "not ok $n - $name # $cause" >>"$RESULTS/tap"
    echo "not ok $n - $name # $cause"
  else
    echo "ok $n - $name" >>"$RESULTS/tap"
    echo "ok $n - $name"
  fi
  rm -f "$SCENARIO_CAUSES"
}

# run_logged COMMAND... — COMMAND, echoed into the scenario log, bounded by PODMAN_TIMEOUT.
run_logged() {
  log "+ $*" >&2
  timeout "$PODMAN_TIMEOUT" "$@"
}

# user_command USER [WORD...] — the words (one a line, for `mapfile -t`) that run WORD... as
# USER the way a login of USER does: its home, its runtime directory and the bus of its user
# manager, where podman's systemd cgroup manager makes the scopes of its containers.
user_command() {
  local user=$1 uid home
  shift
  uid=$(id -u "$user")
  home=$(getent passwd "$user" | cut -d: -f6)
  printf '%s\n' runuser -u "$user" -- env -i -C "$home" HOME="$home" USER="$user" LOGNAME="$user" \
    PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/$uid" \
    DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"
}

# as_user USER COMMAND... — COMMAND as USER (user_command), bounded by PODMAN_TIMEOUT.
as_user() {
  local cmd
  mapfile -t cmd < <(user_command "$1")
  shift
  timeout "$PODMAN_TIMEOUT" "${cmd[@]}" "$@"
}

# host_probes TAG ADDR... — the probe specs for ADDR over TCP (connect) and unconnected UDP
# (sendto: the sendmsg path), each tagged so the listener log tells whose probe arrived.
host_probes() {
  local tag=$1 addr
  shift
  for addr in "$@"; do
    printf '%s\n' "connect tcp $addr $PORT $tag/tcp/$addr" "sendto udp $addr $PORT $tag/udp/$addr"
  done
}

# own_loopback_probes TAG — a listener on the container's own 127.0.0.1 and a TCP probe to it.
own_loopback_probes() {
  printf '%s\n' "listen tcp 127.0.0.1 $OWN_PORT" "connect tcp 127.0.0.1 $OWN_PORT $1/own-loopback"
}

# probes_run TAG PODMAN-RUN-ARG... -- SPEC... — one `podman run --rm` of $IMAGE running
# ojh-probes with the SPECs; its output is $STATE/TAG.out, the container id $CID_DIR/TAG.cid.
# Fails the scenario (and returns 1) when podman fails, with the hook's own line as cause.
probes_run() {
  local tag=$1 args=() rc=0 since
  shift
  while [[ $1 != -- ]]; do args+=("$1"); shift; done
  shift
  rm -f "$CID_DIR/$tag.cid"
  since=$(date +%s)
  log "+ ${PODMAN[*]} ${PODMAN_OPTS[*]} run --rm --cidfile $CID_DIR/$tag.cid ${args[*]} $IMAGE /bin/ojh-probes $*"
  timeout "$PODMAN_TIMEOUT" "${PODMAN[@]}" "${PODMAN_OPTS[@]}" run --rm --cidfile "$CID_DIR/$tag.cid" "${args[@]}" "$IMAGE" \
    /bin/ojh-probes "$@" >"$STATE/$tag.out" 2>&1 || rc=$?
  cat "$STATE/$tag.out"
  # What the hook said (rules, exceptions, cgroup): the first clue when a probe surprises.
  journalctl -b -q -o cat -t oci-jail-hook --since "@$since" 2>/dev/null | sed 's/^/hook: /' || true
  if ((rc != 0)); then
    fail "$tag: podman run failed ($rc): $(hook_error "$since" || grep -v '^result ' "$STATE/$tag.out" | tail -n 1)"
    return 1
  fi
}

# hook_error SINCE — the hook's last error line in the journal since SINCE (epoch seconds),
# without its "container <id>: " prefix; false when there is none. The runtimes drop the
# hook's stderr, so the journal is where its one-line cause is.
hook_error() {
  local line
  line=$(journalctl -b -q -o cat -t oci-jail-hook --since "@$1" 2>/dev/null | tail -n 1)
  [[ -n $line ]] || return 1
  echo "hook: ${line#container * }"
}

# probe_line TAG SPEC — jail-probe's own line for SPEC in TAG's output ("<spec>: <result>").
probe_line() {
  local spec=$2 words
  read -ra words <<<"$spec"
  # jail-probe prints the verb and arguments without the tag.
  grep -F -- "${words[*]:0:4}: " "$STATE/$1.out" | head -n 1
}

# probe_rc TAG SPEC — jail-probe's exit status for SPEC in TAG's output, "missing" if none.
probe_rc() {
  local rc
  rc=$(awk -v s="$2" '$1 == "result" { r = $2; $1 = ""; $2 = ""; sub(/^  /, ""); if ($0 == s) { print r; exit } }' \
    "$STATE/$1.out")
  echo "${rc:-missing}"
}

# arrived TAG — true when the listeners logged a probe whose payload tag is TAG.
arrived() { grep -qF -- ": probe $1" "$LISTEN_LOG"; }

# expect_blocked TAG SPEC... — each probe got EPERM and nothing arrived at the listeners.
expect_blocked() {
  local tag=$1 spec line
  shift
  for spec in "$@"; do
    line=$(probe_line "$tag" "$spec")
    if [[ $line != *": blocked EPERM"* ]]; then
      fail "$tag: ${spec% *} should get EPERM, got: ${line:-no result} (rc $(probe_rc "$tag" "$spec"))"
    elif arrived "${spec##* }"; then
      fail "$tag: ${spec% *} got EPERM, yet the listener logged it"
    fi
  done
}

# expect_reached TAG SPEC... — each probe reached (a TCP connect, a UDP send), and what
# carries a tag is in the listeners' log (UDP sends have no other ground truth). A probe
# with a tag of the form "*/own-loopback" is judged by its verdict alone.
expect_reached() {
  local tag=$1 spec line ptag i
  shift
  for spec in "$@"; do
    line=$(probe_line "$tag" "$spec")
    if [[ $(probe_rc "$tag" "$spec") != 0 ]]; then
      fail "$tag: ${spec% *} should reach, got: ${line:-no result}"
      continue
    fi
    ptag=${spec##* }
    [[ $ptag == */own-loopback ]] && continue
    for ((i = 0; i < 20; i++)); do arrived "$ptag" && break; sleep 0.1; done
    arrived "$ptag" || fail "$tag: ${spec% *} reported reached, but the listener never logged it"
  done
}

# hook_links — the number of bpf_links whose program is one of the hook's (ojh_*). Only
# those: systemd attaches and detaches links of its own as units come and go.
hook_links() {
  local progs
  progs=$(bpftool -j prog show | jq -c '[.[] | select((.name // "") | startswith("ojh_")) | .id]')
  bpftool -j link show | jq --argjson p "$progs" '[.[] | select(.prog_id as $i | $p | any(. == $i))] | length'
}

# hook_cgroups — the cgroups (full paths, as bpftool prints them) that hold a program of
# the hook.
hook_cgroups() {
  bpftool cgroup tree 2>/dev/null | awk '/^\// { cg = $1 } /ojh_/ && cg { print cg; cg = "" }'
}

# container_pins ID — the hook's pin entry of container ID: entries are named by cgroup
# (cgroup:<cgroup id>) and record the id in a symlink "id". A path that does not exist when
# the container has none, so that -e and -d say whether it has one.
container_pins() {
  local entry
  for entry in "$PINS"/cgroup:*; do
    [[ $(readlink "$entry/id" 2>/dev/null) == "$1" ]] && { echo "$entry"; return 0; }
  done
  echo "$PINS/no-entry-for-$1"
}

# hook_state — what the hook holds: its link count and its per-container pin directories.
# Compared before and after a container rather than by id: podman deletes the --cidfile of
# a --rm container with the container.
hook_state() {
  echo "$(hook_links) links, pins: $(find "$PINS" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null | tr ' ' '\n' | sort | tr '\n' ' ')"
}

# expect_released TAG BEFORE — after the container is gone the hook holds what it held
# before it ($(hook_state) then). podman removes a --rm container after poststop, but allow
# a few seconds for a cleanup process still running.
# expect_released TAG ID LINKS — the same for a known container ID: its pins are gone and
# the hook's link count is LINKS ($(hook_links) before it).
expect_released() {
  local tag=$1 i now
  for ((i = 0; i < 50; i++)); do
    if (($# == 2)); then
      now=$(hook_state)
      [[ $now == "$2" ]] && return 0
    else
      now=$(hook_links)
      [[ ! -e $(container_pins "$2") && $now == "$3" ]] && return 0
    fi
    sleep 0.2
  done
  if (($# == 2)); then
    fail "$tag: not released: the hook holds $now; before the container: $2"
  else
    [[ -e $(container_pins "$2") ]] &&
      fail "$tag: pins of ${2:0:12} left: $(find "$(container_pins "$2")" -mindepth 1 -printf '%f ')"
    [[ $now == "$3" ]] || fail "$tag: $now links of the hook, $3 before the container"
  fi
  return 0
}

# cid TAG — the container id podman wrote for TAG.
cid() { cat "$CID_DIR/$1.cid" 2>/dev/null; }

# gateway NETWORK [4|6] — the gateway of podman network NETWORK of that IP version.
gateway() {
  podman network inspect "$1" |
    jq -r --arg v "${2:-4}" '.[0].subnets[] | .gateway | select(($v == "6") == contains(":"))' |
    head -n 1
}

# enforced_run TAG OWN "ADDR..." PODMAN-RUN-ARG... — the core check of the tier: an
# annotated container probing each ADDR over TCP and UDP gets EPERM for every one and the
# listeners see none; with OWN=own, its own loopback (own netns) works; once `podman run
# --rm` returns, its pins are gone and the hook's link count is what it was before.
enforced_run() {
  local tag=$1 own=$2 addrs before probes loopback=()
  read -ra addrs <<<"$3"
  shift 3
  before=$(hook_state)
  log "hook before: $before; addresses now: $(ip -br addr | tr -s ' ' | tr '\n' ';')"
  mapfile -t probes < <(host_probes "$tag" "${addrs[@]}")
  [[ $own == own ]] && mapfile -t loopback < <(own_loopback_probes "$tag")
  probes_run "$tag" "${ENFORCE[@]}" "$@" -- "${probes[@]}" "${loopback[@]}" || return 0
  expect_blocked "$tag" "${probes[@]}"
  [[ $own == own ]] && expect_reached "$tag" "${loopback[1]}"
  expect_released "$tag" "$before"
}

# control_run TAG OWN "ADDR..." PODMAN-RUN-ARG... — the same without the annotation: every
# probe reaches, which proves that a refusal in enforced_run is the hook's doing.
control_run() {
  local tag=$1 own=$2 addrs probes loopback=()
  read -ra addrs <<<"$3"
  shift 3
  mapfile -t probes < <(host_probes "$tag" "${addrs[@]}")
  [[ $own == own ]] && mapfile -t loopback < <(own_loopback_probes "$tag")
  probes_run "$tag" "$@" -- "${probes[@]}" "${loopback[@]}" || return 0
  expect_reached "$tag" "${probes[@]}" "${loopback[@]:1}"
}

# expect_resolved TAG NAME IP — "resolve NAME" succeeded in TAG's run and answered IP.
expect_resolved() {
  local tag=$1 name=$2 ip=$3
  if [[ $(probe_rc "$tag" "resolve $name") != 0 ]]; then
    fail "$tag: resolving $name failed: $(grep -i -m 1 'timed out\|can.t\|error\|refused' "$STATE/$tag.out" || echo 'see log')"
  elif ! grep -qF -- "$ip" "$STATE/$tag.out"; then
    fail "$tag: $name resolved, but not to $ip"
  fi
}

# detached_run TAG PODMAN-RUN-ARG... — `podman run -d` of $IMAGE sleeping; the id is $(cid TAG).
detached_run() {
  local tag=$1
  shift
  rm -f "$CID_DIR/$tag.cid"
  run_logged "${PODMAN[@]}" run -d --cidfile "$CID_DIR/$tag.cid" "$@" "$IMAGE" sleep 600 || {
    fail "$tag: podman run -d failed: $(hook_error "$(($(date +%s) - 60))" || echo 'see log')"
    return 1
  }
}

# container_cgroup ID — the cgroup2 directory of container ID's init process.
container_cgroup() {
  local pid
  pid=$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$1")
  echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
}
