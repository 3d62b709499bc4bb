# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # jq programs are single-quoted on purpose
#
# Shared helpers for the end-to-end tests: a fake host and a container network namespace,
# a busybox rootfs, runc bundles wired from the installed hooks.d JSON, listeners that log
# what arrives, and an isolated cgroup/bpffs view to run in. Source it from a script that
# runs with `set -euo pipefail`.
#
# Everything a helper creates is registered with e2e_defer and undone, newest first, by the
# EXIT trap, also when a test fails half way.
#
# A scenario starts with one fixture (below, "Scenario fixtures") and then reads as what it
# checks: e2e_runc_view "$@" for real runc containers, e2e_hook_view "$@" for states fed to
# the installed hook by hand, h_synthetic_view "$@" (hardening_lib.sh) for those with the fake
# host network as well.
#
# Environment:
#   HOOK_PREFIX  install prefix of oci-jail-hook (cmake --install --prefix)
#   HOOKS_DIR    hooks.d JSON directory (default $HOOK_PREFIX/share/containers/oci/hooks.d)
#   PROBE        path of the static jail-probe binary
#   PIN_DIR      the hook's pin directory (default /sys/fs/bpf/oci-jail-hook)
#   E2E_VIEW     "isolated" (default): run in a private cgroup2 + bpffs view; "host": don't
#   E2E_WORK     parent of the per-run work directory (default /tmp)
#   E2E_KEEP_WORK=1  keep the work directory for inspection

E2E_SCRIPT=$(readlink -f "$0")
E2E_TEST=$(basename "$0" .sh)
HOOK_PREFIX=${HOOK_PREFIX:-}
HOOKS_DIR=${HOOKS_DIR:-${HOOK_PREFIX:+$HOOK_PREFIX/share/containers/oci/hooks.d}}
PROBE=${PROBE:-}
PIN_DIR=${PIN_DIR:-/sys/fs/bpf/oci-jail-hook}
E2E_VIEW=${E2E_VIEW:-isolated}

# Addresses of the fake host (see e2e_setup_network).
E2E_HOST_V4=10.200.0.1
E2E_HOST_V6=fd00:200::1
E2E_CT_V4=10.200.0.2
E2E_CT_V6=fd00:200::2
E2E_HOST_LL=fe80::1
E2E_META_V4=169.254.169.254
E2E_META_V6=fd00:ec2::254
E2E_SLIRP_V4=10.0.2.2
# In the fake host's subnets but not on it: the addresses a scenario adds while containers run.
# shellcheck disable=SC2034  # for the scenarios
E2E_NEW_V4=10.200.0.77 E2E_NEW_V6=fd00:200::77

_E2E_LISTENERS=0

# ---------------------------------------------------------------------------------------
# Reporting and cleanup: tests/support/harness.sh, under the names the scenarios call.

# shellcheck source=../support/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/harness.sh"

e2e_log() { printf '%s: %s\n' "$E2E_TEST" "$*" >&2; }
e2e_pass() { ts_pass "$@"; }
e2e_fail() { ts_fail "$@"; }
e2e_check() { ts_check "$@"; }  # e2e_check DESCRIPTION COMMAND...
e2e_skip() { ts_skip "$@"; }
e2e_die() { ts_die "$@"; }  # aborts: something the assertions depend on could not be set up
e2e_finish() { ts_finish; }  # the closing line; exits 0 when every assertion passed
e2e_defer() { ts_defer "$1"; }  # a command (one string, eval'ed) to run at exit, newest first

# e2e_expect_none WHAT FAILURE ITEM... — passes WHAT when no ITEM is given, else fails with
# FAILURE and the first five ITEMs (what went wrong, one an item).
e2e_expect_none() {
  local what=$1 failure=$2
  shift 2
  if (($# == 0)); then e2e_pass "$what"; else e2e_fail "$failure: ${*:1:5}"; fi
}

# ---------------------------------------------------------------------------------------
# Preconditions

e2e_require_root() {
  [[ $(id -u) == 0 ]] || e2e_skip "needs root (real containers, netns, cgroup BPF)"
}

e2e_require_tools() {
  ts_require runc jq nsenter unshare ip bpftool mountpoint
  [[ -n $PROBE && -x $PROBE ]] || e2e_skip "PROBE (static jail-probe) not set or not executable"
  e2e_busybox >/dev/null || e2e_skip "no static busybox (install busybox-static)"
}

e2e_require_hooks() {
  [[ -n $HOOKS_DIR && -d $HOOKS_DIR ]] ||
    e2e_skip "no hooks.d directory: set HOOK_PREFIX (cmake --install prefix) or HOOKS_DIR"
  compgen -G "$HOOKS_DIR/*.json" >/dev/null || e2e_skip "no hook JSON files in $HOOKS_DIR"
  # An install into HOOK_PREFIX must point its JSON at its own binary, not at the configured
  # prefix (a stale system copy would be tested instead).
  if [[ -n $HOOK_PREFIX && $HOOKS_DIR -ef $HOOK_PREFIX/share/containers/oci/hooks.d ]]; then
    local file path prefix
    prefix=$(readlink -f "$HOOK_PREFIX")
    for file in "$HOOKS_DIR"/*.json; do
      path=$(jq -r '.hook.path // ""' "$file")
      [[ $(readlink -f "$path") == "$prefix"/* ]] ||
        e2e_die "$file: hook.path '$path' is outside HOOK_PREFIX $HOOK_PREFIX"
    done
  fi
}

# A static busybox; the rootfs has no libc.
e2e_busybox() {
  local candidate
  for candidate in /bin/busybox /usr/bin/busybox; do
    [[ -x $candidate ]] || continue
    if [[ $(LC_ALL=C ldd "$candidate" 2>&1) == *"not a dynamic executable"* ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# The visible cgroup2 mount: fields after " - " give the type; the mount root must be "/"
# (inside a cgroup namespace an older mount shows "/.." and may be covered by a newer one,
# so the last match wins).
e2e_cgroup2_mount() {
  awk '{ for (i = 7; $i != "-"; i++) {} }
       $(i + 1) == "cgroup2" && $4 == "/" { mount = $5 }
       END { if (mount == "") exit 1; print mount }' /proc/self/mountinfo
}

# ---------------------------------------------------------------------------------------
# Leftovers of runs that were killed (a ctest timeout sends SIGKILL): the names carry the
# PID of the run that made them, so only those of dead runs are removed.

_e2e_pid_dead() { [[ ! -d /proc/$1 ]]; }

e2e_remove_cgroup_tree() {  # kills what is left inside (all started by the test), then rmdir
  local cg=$1 i
  [[ -d $cg ]] || return 0
  [[ -e $cg/cgroup.kill ]] && echo 1 >"$cg/cgroup.kill" 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    grep -q '^populated 0' "$cg/cgroup.events" 2>/dev/null && break
    sleep 0.1
  done
  find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  [[ ! -d $cg ]]
}

e2e_reap_stale() {
  local name pid cg2 cg dir id reaped_netns=0
  cg2=$(e2e_cgroup2_mount) || cg2=
  for cg in ${cg2:+"$cg2"/ojh-e2e-*}; do
    [[ -d $cg && $cg =~ -([0-9]+)$ ]] || continue
    if _e2e_pid_dead "${BASH_REMATCH[1]}"; then
      e2e_log "removing cgroup $cg left by dead run ${BASH_REMATCH[1]}"
      e2e_remove_cgroup_tree "$cg" || true
    fi
  done
  for dir in "${E2E_WORK:-/tmp}"/ojh-e2e-*; do
    [[ -d $dir && $dir =~ -([0-9]+)\.[^/]+$ ]] || continue
    _e2e_pid_dead "${BASH_REMATCH[1]}" || continue
    e2e_log "removing $dir and its containers, left by dead run ${BASH_REMATCH[1]}"
    # Listeners of that run: their command line names a file in $dir (no PID reuse risk).
    while read -r pid; do
      if { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$dir/"; then
        kill "$pid" 2>/dev/null || true
      fi
    done < <(cat "$dir/pids" 2>/dev/null)
    if [[ -d $dir/runc ]]; then
      for id in $(runc --root "$dir/runc" list -q 2>/dev/null); do
        runc --root "$dir/runc" delete -f "$id" >/dev/null 2>&1 || true
      done
    fi
    rm -rf "$dir"
  done
  for name in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    [[ $name =~ ^ojh-[hcp]-([0-9]+)$ ]] || continue
    pid=${BASH_REMATCH[1]}
    if _e2e_pid_dead "$pid"; then
      e2e_log "removing netns $name left by dead run $pid"
      ip netns del "$name" 2>/dev/null || true
      reaped_netns=1
    fi
  done
  if ((reaped_netns)) && mountpoint -q /run/netns && [[ -z $(ls -A /run/netns) ]]; then
    umount /run/netns && rmdir /run/netns
  fi
}

# On the host's layout the hook leaves its pin directory (shared programs and maps) and may
# mount bpffs at /sys/fs/bpf. A test that found neither removes both at exit, once no
# container is enforced any more (a fresh bpffs holds only progs.debug and maps.debug).
_e2e_restore_pins_at_exit() {
  local bpffs_was_mounted=0 pin_dir_existed=0
  mountpoint -q /sys/fs/bpf && bpffs_was_mounted=1
  [[ -e $PIN_DIR ]] && pin_dir_existed=1
  e2e_defer "_e2e_restore_pins $bpffs_was_mounted $pin_dir_existed"
}

_e2e_restore_pins() {  # BPFFS-WAS-MOUNTED PIN-DIR-EXISTED
  if (($2 == 0)) && [[ -d $PIN_DIR ]]; then
    if [[ -z $(find "$PIN_DIR" -path '*/containers/*' -print -quit) ]]; then
      rm -rf "$PIN_DIR"
    else
      e2e_log "leaving $PIN_DIR: containers are still enforced"
    fi
  fi
  if (($1 == 0)) && mountpoint -q /sys/fs/bpf &&
    [[ -z $(find /sys/fs/bpf -mindepth 1 -not -name '*.debug' -print -quit) ]]; then
    umount /sys/fs/bpf
  fi
}

# e2e_pin_entries PIN-DIR ID — the hook's pin entries of container ID, one directory a line:
# entries named by cgroup (containers/cgroup:<cgroup id>) whose id record is ID, and an
# entry an earlier version named after the id itself ('.' written as %2E).
e2e_pin_entries() {
  local entry
  for entry in "$1"/v1/containers/*; do
    [[ -d $entry ]] || continue
    if [[ ${entry##*/} == cgroup:* ]]; then
      [[ $(readlink "$entry/id" 2>/dev/null) == "$2" ]] && echo "$entry"
    elif [[ ${entry##*/} == "${2//./%2E}" ]]; then
      echo "$entry"
    fi
  done
  return 0
}

# ---------------------------------------------------------------------------------------
# Isolated view (defence in depth): the rest of the script runs in a test cgroup of its own,
# with private mount and cgroup namespaces, cgroup2 mounted at /sys/fs/cgroup and a fresh
# bpffs at /sys/fs/bpf. There the "root cgroup" is the test's subtree, and whatever the hook
# pins disappears with the namespace. Call it early: it re-executes the script.

e2e_enter_isolated_view() {
  [[ $E2E_VIEW == host || -n ${E2E_IN_VIEW:-} ]] && return 0
  [[ $E2E_VIEW == isolated ]] || e2e_die "E2E_VIEW must be 'isolated' or 'host'"
  e2e_reap_stale
  local cg2 cg rc=0
  cg2=$(e2e_cgroup2_mount) || e2e_skip "no cgroup2 mount in /proc/self/mountinfo"
  cg=$cg2/ojh-e2e-$$
  mkdir "$cg" || e2e_die "cannot create test cgroup $cg"
  e2e_defer "e2e_remove_cgroup_tree '$cg'"
  # The child joins $cg before unsharing, so its new cgroup namespace is rooted there. The
  # script itself then moves to a leaf ("launcher"): runc's containers become its siblings.
  E2E_IN_VIEW=1 sh -c '
      echo $$ >"$0/cgroup.procs" && exec unshare --mount --cgroup --propagation private -- "$@"' \
    "$cg" sh -c '
      mount -t cgroup2 cgroup2 /sys/fs/cgroup &&
      mount -t bpf bpf /sys/fs/bpf &&
      mkdir /sys/fs/cgroup/launcher &&
      echo $$ >/sys/fs/cgroup/launcher/cgroup.procs &&
      exec "$@"' e2e-view "$BASH" "$E2E_SCRIPT" "$@" &
  # A signal to this wrapper goes to the test too, so that it cleans up before the cgroup
  # is removed (which kills whatever is left in it).
  local child=$!
  trap 'kill -TERM '"$child"' 2>/dev/null' TERM HUP
  trap 'kill -INT '"$child"' 2>/dev/null' INT
  while :; do
    rc=0
    wait "$child" || rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  exit "$rc"
}

# ---------------------------------------------------------------------------------------
# Work directory, rootfs, runc state

e2e_init() {
  e2e_make_workdir
  E2E_RUNC_ROOT=$E2E_RUN_DIR/runc
  E2E_ROOTFS=$E2E_RUN_DIR/rootfs
  mkdir -p "$E2E_RUNC_ROOT" "$E2E_RUN_DIR/bundles"
  e2e_make_rootfs "$E2E_ROOTFS"
}

# Sets E2E_RUN_DIR, removed at exit unless E2E_KEEP_WORK is set.
e2e_make_workdir() {
  if [[ $E2E_VIEW == host ]]; then
    e2e_reap_stale
    _e2e_restore_pins_at_exit
  fi
  local base=${E2E_WORK:-/tmp}
  mkdir -p "$base"
  E2E_RUN_DIR=$(mktemp -d "$base/ojh-e2e-$E2E_TEST-$$.XXXXXX")
  if [[ -z ${E2E_KEEP_WORK:-} ]]; then
    e2e_defer "rm -rf '$E2E_RUN_DIR'"
  else
    e2e_log "keeping work directory $E2E_RUN_DIR"
  fi
  mkdir -p "$E2E_RUN_DIR/logs"
}

e2e_make_rootfs() {
  local rootfs=$1 busybox applet
  busybox=$(e2e_busybox) || e2e_skip "no static busybox"
  mkdir -p "$rootfs"/{bin,dev,proc,sys,tmp,etc}
  cp "$busybox" "$rootfs/bin/busybox"
  for applet in sh sleep cat echo nc ip ls grep touch test kill true false mkdir; do
    ln -sf busybox "$rootfs/bin/$applet"
  done
  cp "$PROBE" "$rootfs/bin/jail-probe"
  echo "root:x:0:0:root:/:/bin/sh" >"$rootfs/etc/passwd"
}

# ---------------------------------------------------------------------------------------
# Scenario fixtures: the first thing a scenario calls, with the script's arguments (the
# isolated view re-executes the script). Each sets HOOK (the installed create-runtime hook)
# and W (the work directory, E2E_RUN_DIR).

# e2e_hook_view "$@" — the isolated view, the installed hooks.d files and a work directory:
# for scenarios that feed the installed hook states of their own (no runtime, no network).
e2e_hook_view() {
  e2e_require_root
  e2e_enter_isolated_view "$@"
  e2e_require_hooks
  e2e_make_workdir
  _e2e_fixture_vars
}

# e2e_runc_view "$@" — the isolated view, every tool, the installed hooks.d files, a work
# directory with a busybox rootfs and runc state, and the fake host's network. Also sets
# MARKERS, a directory for a bind mount at /markers where a container's command leaves a
# file: the proof that it ran.
e2e_runc_view() {
  e2e_require_root
  e2e_enter_isolated_view "$@"
  e2e_require_tools
  e2e_require_hooks
  e2e_init
  e2e_setup_network
  _e2e_fixture_vars
  MARKERS=$E2E_RUN_DIR/markers
  mkdir -p "$MARKERS"
}

# shellcheck disable=SC2034  # for the scenario that calls the fixture
_e2e_fixture_vars() {
  HOOK=$(e2e_hook_path createRuntime)
  W=$E2E_RUN_DIR
}

# e2e_require_commands COMMAND... — skips the scenario unless every COMMAND is installed (for
# scenarios that need fewer than e2e_require_tools).
e2e_require_commands() { ts_require "$@"; }

# ---------------------------------------------------------------------------------------
# Network: a fake host netns and a container netns joined by a veth. No default route
# anywhere; the container reaches only the fake host.
#
#   ojh-h-PID (fake host)                     ojh-c-PID (container)
#     lo     127.0.0.1 ::1                      lo  127.0.0.1 ::1
#     vh     10.200.0.1/24 fd00:200::1/64  <->  vc  10.200.0.2/24 fd00:200::2/64
#            fe80::1/64                             routes: 169.254.169.254, 10.0.2.2 via
#     meta0  169.254.169.254 10.0.2.2                       10.200.0.1, fd00:ec2::254 via
#            fd00:ec2::254 (dummy)                          fd00:200::1

e2e_setup_network() {
  E2E_HOST_NS=ojh-h-$$
  E2E_CT_NS=ojh-c-$$
  E2E_HOST_NETNS=/run/netns/$E2E_HOST_NS
  E2E_CT_NETNS=/run/netns/$E2E_CT_NS
  # `ip netns add` creates /run/netns and makes it a mount point: undo that only if it was us
  # and nobody else's namespace is left in it.
  if [[ ! -d /run/netns ]]; then
    e2e_defer "rmdir /run/netns 2>/dev/null || true"
  fi
  if ! mountpoint -q /run/netns 2>/dev/null; then
    e2e_defer '[[ -z $(ls -A /run/netns 2>/dev/null) ]] && umount /run/netns || true'
  fi
  e2e_add_netns "$E2E_HOST_NS"
  e2e_add_netns "$E2E_CT_NS"
  e2e_add_veth "$E2E_HOST_NS" vh "$E2E_HOST_V4" "$E2E_HOST_V6" \
    "$E2E_CT_NS" vc "$E2E_CT_V4" "$E2E_CT_V6"
  # The metadata-like addresses live on a dummy; kernels without the dummy driver get
  # them on the fake host's lo, which is just as much "the host".
  E2E_META_DEV=meta0
  if ! ip -n "$E2E_HOST_NS" link add meta0 type dummy 2>/dev/null; then
    E2E_META_DEV=lo
    e2e_log "no dummy interfaces in this kernel: metadata addresses go on the fake host's lo"
  fi
  _e2e_ip "$E2E_HOST_NS" addr add "$E2E_META_V4/32" dev "$E2E_META_DEV"
  _e2e_ip "$E2E_HOST_NS" addr add "$E2E_SLIRP_V4/32" dev "$E2E_META_DEV"
  _e2e_ip "$E2E_HOST_NS" addr add "$E2E_META_V6/128" dev "$E2E_META_DEV" nodad
  _e2e_ip "$E2E_HOST_NS" link set "$E2E_META_DEV" up
  _e2e_ip "$E2E_CT_NS" route add "$E2E_META_V4/32" via "$E2E_HOST_V4"
  _e2e_ip "$E2E_CT_NS" route add "$E2E_SLIRP_V4/32" via "$E2E_HOST_V4"
  _e2e_ip "$E2E_CT_NS" -6 route add "$E2E_META_V6/128" via "$E2E_HOST_V6"
  if ! _e2e_wait_v6_ready "$E2E_HOST_NS" || ! _e2e_wait_v6_ready "$E2E_CT_NS"; then
    e2e_die "IPv6 addresses stayed tentative"
  fi
}

# e2e_add_netns NAME — a network namespace with lo up, deleted at exit.
e2e_add_netns() {
  ip netns add "$1" || e2e_die "ip netns add $1"
  e2e_defer "ip netns del '$1'"
  _e2e_ip "$1" link set lo up
}

# e2e_add_veth NS-A DEV-A V4-A V6-A NS-B DEV-B V4-B V6-B — a veth pair from NS-A to NS-B, up,
# with V4/24, V6/64 and a link-local address on each end (fe80::1 = E2E_HOST_LL on A, fe80::2
# on B) and nothing else: no autoconfigured link-local with DAD to wait for. A router needs
# its link-local: the kernel takes a neighbor solicitation's source from the packet only when
# that is a local address, so without one a forwarded v6 packet is dropped once the
# neighbor's entry went stale.
e2e_add_veth() {
  local ns_a=$1 dev_a=$2 v4_a=$3 v6_a=$4 ns_b=$5 dev_b=$6 v4_b=$7 v6_b=$8
  _e2e_ip "$ns_a" link add "$dev_a" type veth peer name "$dev_b" netns "$ns_b"
  _e2e_ip "$ns_a" link set "$dev_a" addrgenmode none
  _e2e_ip "$ns_b" link set "$dev_b" addrgenmode none
  _e2e_ip "$ns_a" addr add "$v4_a/24" dev "$dev_a"
  _e2e_ip "$ns_a" addr add "$v6_a/64" dev "$dev_a" nodad
  _e2e_ip "$ns_a" addr add "$E2E_HOST_LL/64" dev "$dev_a" nodad
  _e2e_ip "$ns_b" addr add "$v4_b/24" dev "$dev_b"
  _e2e_ip "$ns_b" addr add "$v6_b/64" dev "$dev_b" nodad
  _e2e_ip "$ns_b" addr add fe80::2/64 dev "$dev_b" nodad
  _e2e_ip "$ns_a" link set "$dev_a" up
  _e2e_ip "$ns_b" link set "$dev_b" up
}

_e2e_ip() {  # NETNS IP-ARGS...
  local ns=$1
  shift
  ip -n "$ns" "$@" || e2e_die "ip -n $ns $*"
}

# e2e_host_address add|del ADDR — the fake host gains ADDR (an IPv6 one not tentative) or
# drops it: in its subnets on vh (/24, /64), a metadata-like one (E2E_META_V4, E2E_META_V6,
# E2E_SLIRP_V4) on E2E_META_DEV.
e2e_host_address() {
  local verb=$1 addr=$2 prefix=$2/24 dev=vh
  case $addr in
    "$E2E_META_V4" | "$E2E_SLIRP_V4") prefix=$addr/32 dev=$E2E_META_DEV ;;
    "$E2E_META_V6") prefix=$addr/128 dev=$E2E_META_DEV ;;
    *:*) prefix=$addr/64 ;;
  esac
  if [[ $verb == add && $addr == *:* ]]; then
    _e2e_ip "$E2E_HOST_NS" addr add "$prefix" dev "$dev" nodad
    _e2e_wait_v6_ready "$E2E_HOST_NS" || e2e_die "$addr stayed tentative"
  else
    _e2e_ip "$E2E_HOST_NS" addr "$verb" "$prefix" dev "$dev"
  fi
}

# Addresses are added with nodad, so they should never be tentative; wait in case they are.
_e2e_wait_v6_ready() {
  local ns=$1 i
  for ((i = 0; i < 50; i++)); do
    [[ -z $(ip -n "$ns" -6 addr show tentative) ]] && return 0
    sleep 0.1
  done
  return 1
}

# e2e_in_netns NETNS-PATH COMMAND... — runs COMMAND with only the network namespace changed.
# Never `ip netns exec`: it remounts /sys and hides /sys/fs/cgroup and /sys/fs/bpf.
e2e_in_netns() {
  local netns=$1
  shift
  nsenter --net="$netns" -- "$@"
}

# ---------------------------------------------------------------------------------------
# Listeners: jail-probe listen in a netns, logging every arrival to a file.

# e2e_probe_listener NETNS-PATH READY-FILE WHAT PROBE-ARGS... — starts a listener of the probe
# in NETNS (stopped at exit) and waits for its "listening" line in READY-FILE.
e2e_probe_listener() {
  local netns=$1 ready=$2 what=$3 pid i
  shift 3
  : >"$ready"
  # nsenter itself, not a function: $! must be the listener's PID (nsenter execs it).
  nsenter --net="$netns" -- "$PROBE" "$@" >"$ready" 2>&1 &
  pid=$!
  echo "$pid" >>"$E2E_RUN_DIR/pids"
  e2e_defer "kill $pid; wait $pid || true"
  for ((i = 0; i < 50; i++)); do
    grep -q '^listening$' "$ready" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  e2e_die "$what did not start: $(cat "$ready")"
}

# e2e_listen NETNS-PATH tcp|udp ADDR PORT — sets E2E_LISTEN_LOG to the listener's log file.
e2e_listen() {
  local netns=$1 proto=$2 addr=$3 port=$4 n
  n=$((_E2E_LISTENERS += 1))
  E2E_LISTEN_LOG=$E2E_RUN_DIR/logs/listen-$n-$proto-${addr//[:%]/_}-$port.log
  : >"$E2E_LISTEN_LOG"
  e2e_probe_listener "$netns" "$E2E_RUN_DIR/logs/listen-$n.ready" "listener $proto $addr $port" \
    listen "$proto" "$addr" "$port" "$E2E_LISTEN_LOG"
}

# Sends a marker from the listener's own netns and waits until it is logged. Arrivals are
# handled in order, so afterwards everything sent before the marker is in the log.
e2e_listener_barrier() {  # NETNS-PATH PROTO ADDR PORT LOG
  local netns=$1 proto=$2 addr=$3 port=$4 log=$5 tag i
  tag=barrier-$RANDOM$RANDOM
  e2e_in_netns "$netns" "$PROBE" connect "$proto" "$addr" "$port" "$tag" >/dev/null 2>&1 ||
    e2e_die "barrier probe to $proto $addr $port failed"
  for ((i = 0; i < 50; i++)); do
    e2e_logged "$log" "$tag" && return 0
    sleep 0.1
  done
  e2e_die "listener $proto $addr $port never logged its barrier"
}

e2e_logged() {  # LOG TAG — did a probe with TAG arrive?
  # Not grep -q: it stops at the first match, and under pipefail the SIGPIPE that sed then
  # gets on a long log would turn a hit into a miss.
  sed -n 's/^[a-z]* [^ ]* [0-9]*: probe //p' "$1" | grep -xF -- "$2" >/dev/null
}

# e2e_expect_arrival LOG TAG yes|no WHAT
e2e_expect_arrival() {
  local got=no
  e2e_logged "$1" "$2" && got=yes
  local says="arrived at the listener"
  [[ $3 == no ]] && says="did not arrive at the listener"
  if [[ $got == "$3" ]]; then
    e2e_pass "$4 $says"
  else
    e2e_fail "$4 $says: it did$([[ $got == no ]] && echo " not")"
  fi
}

# ---------------------------------------------------------------------------------------
# runc bundles

# e2e_make_bundle NAME NET ANNOTATION SCRIPT — sets E2E_BUNDLE to the bundle directory.
#   NET:        host (share the fake host netns) | own (the container netns ojh-c-PID)
#   ANNOTATION: value of jail.block-host, or "-" for no annotation
#   SCRIPT:     shell script run by /bin/sh in the container
e2e_make_bundle() {
  local name=$1 net=$2 annotation=$3 script=$4
  E2E_BUNDLE=$E2E_RUN_DIR/bundles/$name
  mkdir -p "$E2E_BUNDLE"
  (cd "$E2E_BUNDLE" && runc spec) || e2e_die "runc spec"
  local annotations='{}'
  if [[ $annotation != - ]]; then
    annotations=$(jq -cn --arg v "$annotation" '{"jail.block-host": $v}')
  fi
  local netns_path=
  [[ $net == own ]] && netns_path=$E2E_CT_NETNS
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" \
    --arg script "$script" --arg rootfs "$E2E_ROOTFS" --arg host "$name" \
    --arg netns "$netns_path" --argjson annotations "$annotations" '
    .process.args = ["/bin/sh", "-c", $script]
    | .process.terminal = false
    | .process.env += ["PATH=/bin"]
    | .root = {path: $rootfs, readonly: true}
    | .hostname = ($host | .[0:63])
    | .linux.namespaces |= (map(select(.type != "network"))
        + if $netns == "" then [] else [{type: "network", path: $netns}] end)
    | .mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs",
                   options: ["nosuid", "nodev", "mode=1777"]}]
    | if $annotations == {} then del(.annotations) else .annotations = $annotations end
    ' || e2e_die "editing $E2E_BUNDLE/config.json"
}

# e2e_bundle_bind HOST-DIR CONTAINER-DIR — adds a read-write bind mount to E2E_BUNDLE.
e2e_bundle_bind() {
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg src "$1" --arg dst "$2" \
    '.mounts += [{destination: $dst, type: "bind", source: $src, options: ["rbind", "rw"]}]' ||
    e2e_die "adding bind mount $2"
}

# Wires the hooks of HOOKS_DIR into E2E_BUNDLE; call it after the last change to mounts or
# annotations, as a runtime evaluates `when` against the final config.
e2e_bundle_wire_hooks() {
  local config=$E2E_BUNDLE/config.json
  e2e_wire_hooks "$config" "$HOOKS_DIR" "$(jq -c '.annotations // {}' "$config")"
}

# e2e_hook_path STAGE — hook.path of the hooks.d file that runs at STAGE.
e2e_hook_path() {
  local file
  for file in "$HOOKS_DIR"/*.json; do
    if jq -e --arg stage "$1" '.stages | index($stage)' "$file" >/dev/null; then
      jq -r '.hook.path' "$file"
      return 0
    fi
  done
  e2e_die "no hook for stage $1 in $HOOKS_DIR"
}

_e2e_jq_inplace() {
  local file=$1
  shift
  jq "$@" "$file" >"$file.new" && mv "$file.new" "$file"
}

# e2e_wire_hooks CONFIG HOOKS_DIR ANNOTATIONS_JSON
# Adds the hooks of HOOKS_DIR/*.json to CONFIG the way podman and CRI-O read hooks.d
# (schema 1.0.0, pkg/hooks/1.0.0/when.go): files in name order; a hook applies when every
# condition present in `when` holds (always, annotations, commands, hasBindMounts) and at
# least one is present. An annotation condition holds when some annotation's key matches the
# key regex and its value the value regex (unanchored, like Go's regexp.MatchString); a
# commands condition when process.args[0] matches one of the regexes. The hook's
# path/args/env/timeout are appended to config.hooks[stage] for each stage in `stages`.
e2e_wire_hooks() {
  local config=$1 hooks_dir=$2 annotations=$3 file applies stages
  local files=()
  [[ -d $hooks_dir ]] || e2e_die "hooks.d directory $hooks_dir missing"
  while IFS= read -r -d '' file; do files+=("$file"); done \
    < <(find "$hooks_dir" -maxdepth 1 -name '*.json' -print0 | sort -z)
  ((${#files[@]} > 0)) || e2e_die "no *.json in $hooks_dir"
  for file in "${files[@]}"; do
    jq -e '.version == "1.0.0" and (.hook.path | type == "string" and startswith("/"))
           and (.stages | type == "array" and length > 0)' "$file" >/dev/null ||
      e2e_die "$file: not a hooks.d 1.0.0 file with an absolute hook.path and stages"
    [[ -x $(jq -r '.hook.path' "$file") ]] || e2e_die "$file: hook.path is not an executable"
    applies=$(jq -n --slurpfile config "$config" --slurpfile hookfile "$file" \
      --argjson ann "$annotations" '
      ($hookfile[0].when // {}) as $when
      | $config[0] as $c
      | [ if $when.always != null then $when.always == true else empty end,
          if $when.hasBindMounts != null then
            $when.hasBindMounts == any($c.mounts[]?;
              .type == "bind" or any(.options[]?; . == "bind" or . == "rbind"))
          else empty end,
          ( ($when.annotations // {}) | to_entries[] | . as $pattern
            | any($ann | to_entries[];
                  (.key | test($pattern.key)) and (.value | test($pattern.value))) ),
          if ($when.commands // []) != [] then
            ($c.process.args[0] // "") as $cmd | any($when.commands[]; . as $re | $cmd | test($re))
          else empty end
        ]
      | length > 0 and all(.[]; .)') || e2e_die "evaluating $file"
    stages=$(jq -r '.stages | join(",")' "$file")
    if [[ $applies != true ]]; then
      e2e_log "hooks.d: $(basename "$file"): when does not match, not wired"
      continue
    fi
    _e2e_jq_inplace "$config" --slurpfile hookfile "$file" '
      $hookfile[0] as $h
      | reduce $h.stages[] as $stage (.;
          .hooks[$stage] += [$h.hook | {path, args, env, timeout}
                              | with_entries(select(.value != null))])
      ' || e2e_die "wiring $file into $config"
    e2e_log "hooks.d: $(basename "$file"): wired at $stages"
  done
}

# ---------------------------------------------------------------------------------------
# Running containers: runc itself runs in the fake host netns (the hook's "host"), with a
# private state root. Every container is deleted at exit.

e2e_runc() {
  e2e_in_netns "$E2E_HOST_NETNS" runc --root "$E2E_RUNC_ROOT" "$@"
}

# e2e_runc_run ID BUNDLE OUTFILE — foreground `runc run`; returns runc's exit status.
e2e_runc_run() {
  local id=$1 bundle=$2 out=$3 rc=0
  e2e_defer "e2e_runc delete -f '$id'"
  e2e_runc run --bundle "$bundle" "$id" </dev/null >"$out" 2>&1 || rc=$?
  return "$rc"
}

# e2e_sh_wait_for SECONDS — the definition of `wait_for FILE` for a container script (busybox
# sh): waits for FILE, which the test makes in a bind-mounted directory, and ends the script
# when it has not come after SECONDS.
e2e_sh_wait_for() {
  cat <<EOF
wait_for() {
  i=0
  while [ ! -e "\$1" ]; do
    sleep 0.05
    i=\$((i + 1))
    [ \$i -lt $(($1 * 20)) ] || { echo "timed out waiting for \$1"; exit 1; }
  done
}
EOF
}

# A container's own listeners: jail-probe listeners on the container's own addresses, which
# its script starts before its probes; their log comes back through the container's output.
# e2e_sh_own_listeners PORT "PROTO ADDR"... — the script lines that start them, all logging
# to /tmp/own.log, and wait up to 5 s until each listens.
e2e_sh_own_listeners() {
  local port=$1 spec
  shift
  for spec in "$@"; do
    echo "jail-probe listen $spec $port /tmp/own.log >>/tmp/own.ready 2>&1 &"
    echo 'pids="$pids $!"'
  done
  cat <<EOF
i=0
while [ "\$(grep -c listening /tmp/own.ready)" -lt $# ] && [ \$i -lt 50 ]; do
  sleep 0.1; i=\$((i + 1))
done
EOF
}

# e2e_sh_own_log SECONDS — the script lines that wait SECONDS (UDP arrivals are logged
# asynchronously), print the log as "own-log: " lines and end the listeners.
e2e_sh_own_log() {
  echo "sleep $1"
  echo "sed 's/^/own-log: /' /tmp/own.log"
  echo 'kill $pids'
}

# e2e_own_log OUTFILE LOGFILE — the own listeners' log out of the container's output.
e2e_own_log() { sed -n 's/^own-log: //p' "$1" >"$2"; }

# e2e_runc_start ID BUNDLE OUTFILE — `runc run` in the background, for a container that keeps
# running while the test acts on the host (its script talks to the test through files in a
# bind-mounted directory: e2e_bundle_bind); sets E2E_RUNC_PID. The container is deleted
# (killing it) at exit, then runc is waited for.
e2e_runc_start() {
  local id=$1 bundle=$2 out=$3
  e2e_runc run --bundle "$bundle" "$id" </dev/null >"$out" 2>&1 &
  E2E_RUNC_PID=$!
  e2e_defer "wait $E2E_RUNC_PID || true"
  e2e_defer "e2e_runc delete -f '$id'"
}

# e2e_wait_file FILE [TENTHS [PID]] — waits for FILE to exist (default 10 s); fails when it
# does not, early when process PID (a background runc) exits without making it.
e2e_wait_file() {
  local file=$1 tenths=${2:-100} pid=${3:-} i
  for ((i = 0; i < tenths; i++)); do
    [[ -e $file ]] && return 0
    [[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || {
      [[ -e $file ]]
      return
    }
    sleep 0.1
  done
  return 1
}

# e2e_wait_exit PID [TENTHS] — waits for a background process (runc) to exit; returns its
# status, or 124 when it is still running after TENTHS (default 10 s).
e2e_wait_exit() {
  local pid=$1 tenths=${2:-100} i rc=0
  for ((i = 0; i < tenths; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" || rc=$?
      return "$rc"
    fi
    sleep 0.1
  done
  return 124
}

# e2e_run_to_end RUN ID — foreground `runc run` of E2E_BUNDLE as container ID, its output in
# $E2E_RUN_DIR/RUN.out: runc must succeed and the container's script get to its last line,
# `echo container-done`.
e2e_run_to_end() {
  local run=$1 out=$E2E_RUN_DIR/$1.out
  if e2e_runc_run "$2" "$E2E_BUNDLE" "$out"; then
    e2e_pass "$run: runc run succeeded"
  else
    e2e_fail "$run: runc run failed: $(tail -n 3 "$out")"
  fi
  e2e_check "$run: the container ran to its end" grep -qx container-done "$out"
}

# e2e_lifecycle RUNTIME MAKE-BUNDLE ID-PREFIX BASELINE ENFORCED CLEANED — the three ways a
# container ends, each with the hook's state checked while it runs and after it ended:
#   create/delete  `create` (createRuntime runs), checks, `start`, it exits, `delete` (poststop)
#   delete -f      a running container (`run --detach`) removed with `delete --force`
#   NAME run       a foreground `run`: the runtime destroys the container and runs poststop
# RUNTIME is e2e_runc or rt_crun (NAME is runc or crun), MAKE-BUNDLE the matching bundle maker
# (e2e_make_bundle, rt_crun_bundle). The scenario's functions: BASELINE prints the state that
# CLEANED compares with; ENFORCED WHAT ID BASELINE checks a running container (WHAT is
# create/delete for one that is only created), CLEANED WHAT ID BASELINE one that ended.
e2e_lifecycle() {
  local runtime=$1 make_bundle=$2 prefix=$3 baseline=$4 enforced=$5 cleaned=$6
  local name=${1##*_} id before rc=0
  id=$prefix-delete
  before=$("$baseline")
  "$make_bundle" cleanup-delete host true "echo container-ran"
  e2e_bundle_wire_hooks
  if _e2e_lifecycle_start "$runtime" "$id" create/delete delete create; then
    "$enforced" create/delete "$id" "$before"
    "$runtime" start "$id"
    e2e_check "create/delete: the container ran and stopped" _e2e_stopped "$runtime" "$id"
    e2e_check "create/delete: $name delete succeeded" "$runtime" delete "$id"
    "$cleaned" create/delete "$id" "$before"
  fi

  id=$prefix-force
  before=$("$baseline")
  "$make_bundle" cleanup-force host true "echo container-ran; sleep 60"
  e2e_bundle_wire_hooks
  if _e2e_lifecycle_start "$runtime" "$id" "delete -f" force run --detach; then
    "$enforced" "delete -f" "$id" "$before"
    e2e_check "delete -f: $name delete -f succeeded" "$runtime" delete --force "$id"
    "$cleaned" "delete -f" "$id" "$before"
  fi

  id=$prefix-run
  before=$("$baseline")
  "$make_bundle" cleanup-run host true "echo container-ran"
  e2e_bundle_wire_hooks
  e2e_defer "$runtime delete --force '$id'"
  "$runtime" run --bundle "$E2E_BUNDLE" "$id" </dev/null >"$E2E_RUN_DIR/run.out" 2>&1 || rc=$?
  e2e_check "$name run: the container ran" test "$rc" == 0
  "$cleaned" "$name run" "$id" "$before"
}

_e2e_lifecycle_start() {  # RUNTIME ID WHAT OUT-NAME VERB... — VERB of E2E_BUNDLE as ID
  local runtime=$1 id=$2 what=$3 out=$E2E_RUN_DIR/$4.out
  shift 4
  e2e_defer "$runtime delete --force '$id'"
  "$runtime" "$@" --bundle "$E2E_BUNDLE" "$id" </dev/null >"$out" 2>&1 && return 0
  e2e_fail "$what: ${runtime##*_} $* failed: $(tail -n 2 "$out")"
  return 1
}

_e2e_stopped() {  # RUNTIME ID — waits up to 10 s for the container to have stopped
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $("$1" state "$2" 2>/dev/null | jq -r .status) == stopped ]] && return 0
    sleep 0.1
  done
  return 1
}

# e2e_status_lists ID / e2e_status_omits ID — `oci-jail-hook status` succeeds and names the
# container ID, or does not.
e2e_status_lists() {
  local status
  status=$("$(e2e_hook_path createRuntime)" status 2>&1) && [[ $status == *"$1"* ]]
}

e2e_status_omits() {
  local status
  status=$("$(e2e_hook_path createRuntime)" status 2>&1) && [[ $status != *"$1"* ]]
}

# e2e_hook_attach_types — the attach types (as bpftool names them, sorted) of the programs
# the pinned objects attach to every container: the five IP ones, and the two AF_UNIX ones
# where `status --json` says they are loaded (Linux 6.7+, issue 13).
e2e_hook_attach_types() {
  local unix
  unix=$("$(e2e_hook_path createRuntime)" --pin-dir "$PIN_DIR" status --json 2>/dev/null |
    jq -r '.unix.enforced // false')
  {
    printf '%s\n' cgroup_inet4_connect cgroup_inet6_connect cgroup_udp4_sendmsg \
      cgroup_udp6_sendmsg cgroup_inet_egress
    if [[ $unix == true ]]; then printf '%s\n' cgroup_unix_connect cgroup_unix_sendmsg; fi
  } | sort
}

# e2e_hook_program_count — how many programs the hook attaches to a container on this kernel:
# the five IP ones, and from Linux 6.7 the two AF_UNIX ones (the hook probes the attach
# type; on the kernels the tests run on, the version says the same).
e2e_hook_program_count() {
  local release major minor
  release=$(uname -r)
  major=${release%%.*}
  minor=${release#*.}
  minor=${minor%%.*}
  if ((major > 6 || (major == 6 && minor >= 7))); then echo 7; else echo 5; fi
}

# e2e_attach_type_names — a filter: bpftool before 7.4 prints the AF_UNIX attach types by
# number (49, 50); the names newer ones print.
e2e_attach_type_names() {
  sed -E 's/(^| )49( |$)/\1cgroup_unix_connect\2/; s/(^| )50( |$)/\1cgroup_unix_sendmsg\2/'
}

# e2e_expect_line FILE LINE DESCRIPTION — FILE has LINE exactly.
e2e_expect_line() {
  if grep -qxF -- "$2" "$1"; then
    e2e_pass "$3"
  else
    local got
    got=$(grep -F -- "${2%%: *}:" "$1" | head -n 1)
    e2e_fail "$3 (expected '$2', got '${got:-nothing}')"
  fi
}
