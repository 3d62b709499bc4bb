# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # jq programs are single-quoted on purpose
#
# Helpers for the policy tests (jail.block-host.allow/.cidrs/.mode/.dns, DNS exceptions,
# `oci-jail-hook refresh`). Source it after lib.sh: it builds on its bundles, listeners and
# cleanup, and adds what those tests need beyond a plain on/off switch — any set of
# annotations, a rootfs or resolv.conf of their own, table-driven probes, and the hook's own
# stderr out of runc's log.

declare -A PL_LOG    # "PROTO ADDR PORT" -> log file of the listener there
declare -A PL_NETNS  # "PROTO ADDR PORT" -> netns path of that listener

# pl_listen NETNS-PATH PROTO ADDR PORT — a logging listener, remembered by PROTO ADDR PORT.
pl_listen() {
  e2e_listen "$@"
  PL_LOG["$2 $3 $4"]=$E2E_LISTEN_LOG
  PL_NETNS["$2 $3 $4"]=$1
}

# pl_with_expect EXPECT PROBE... — each "VERB PROTO ADDR PORT" probe with EXPECT (reached or
# blocked) appended, one a line.
pl_with_expect() {
  local expect=$1
  shift
  printf "%s $expect\n" "$@"
}

# pl_listen_alias PROTO ADDR PORT ALIAS — probes to PROTO ALIAS PORT land at that listener too
# (e.g. ::ffff:127.0.0.1 at 127.0.0.1's).
pl_listen_alias() {
  PL_LOG["$1 $4 $3"]=${PL_LOG["$1 $2 $3"]:?no listener for $1 $2 $3}
  PL_NETNS["$1 $4 $3"]=${PL_NETNS["$1 $2 $3"]}
}

# pl_listen_log PROTO ADDR PORT LOGFILE — a listener the test did not start (one inside the
# container that reports its log afterwards). There is no barrier: a TCP arrival is logged
# before its probe returns, a UDP one only soon after, so the container must wait a moment
# before it reports the log.
pl_listen_log() {
  PL_LOG["$1 $2 $3"]=$4
  PL_NETNS["$1 $2 $3"]=-
}

# A probe is one word list "VERB PROTO ADDR PORT EXPECT", EXPECT one of
#   reached      the probe says so and the listener at PROTO ADDR PORT logged it
#   blocked      the probe got EPERM and that listener logged nothing
#   denied       the probe got EPERM (no listener: the address is gone from the host)
#   not-blocked  any verdict but blocked (no listener: the address is gone from the host)

# pl_probe_script RUN PROBE... — container shell lines that run the probes, tagged RUN/...
pl_probe_script() {
  local run=$1 probe verb proto addr port expect
  shift
  for probe in "$@"; do
    read -r verb proto addr port expect <<<"$probe"
    echo "jail-probe $verb $proto $addr $port '$run/$verb $proto $addr $port' || true"
  done
}

# pl_check_probes RUN OUTFILE PROBE... — after the container ran pl_probe_script RUN PROBE...
# with its output in OUTFILE.
pl_check_probes() {
  local run=$1 out=$2 probe verb proto addr port expect key line
  shift 2
  # Every listener the verdicts depend on has seen everything sent before its barrier.
  local -A barrier=()
  for probe in "$@"; do
    read -r verb proto addr port expect <<<"$probe"
    [[ $expect == reached || $expect == blocked ]] || continue
    key="$proto $addr $port"
    [[ -n ${PL_LOG[$key]:-} ]] || e2e_die "no listener for $key"
    [[ -n ${barrier[$key]:-} || ${PL_NETNS[$key]} == - ]] && continue
    barrier[$key]=1
    e2e_listener_barrier "${PL_NETNS[$key]}" "$proto" "$addr" "$port" "${PL_LOG[$key]}"
  done
  for probe in "$@"; do
    read -r verb proto addr port expect <<<"$probe"
    key="$proto $addr $port"
    case $expect in
      reached)
        e2e_expect_line "$out" "$verb $key: reached" "$run: $verb $key → reached"
        e2e_expect_arrival "${PL_LOG[$key]}" "$run/$verb $key" yes "$run: $verb $key"
        ;;
      blocked)
        e2e_expect_line "$out" "$verb $key: blocked EPERM" "$run: $verb $key → blocked EPERM"
        e2e_expect_arrival "${PL_LOG[$key]}" "$run/$verb $key" no "$run: $verb $key"
        ;;
      denied)
        e2e_expect_line "$out" "$verb $key: blocked EPERM" "$run: $verb $key → blocked EPERM"
        ;;
      not-blocked)
        line=$(grep -F -- "$verb $key: " "$out" | head -n 1 || true)
        if [[ -n $line && $line != *": blocked "* ]]; then
          e2e_pass "$run: $verb $key → not blocked (${line##*: })"
        else
          e2e_fail "$run: $verb $key → not blocked (got '${line:-nothing}')"
        fi
        ;;
      *) e2e_die "probe '$probe': unknown EXPECT" ;;
    esac
  done
}

# ---------------------------------------------------------------------------------------
# Bundles: lib.sh's e2e_make_bundle, then these edits of E2E_BUNDLE (before
# e2e_bundle_wire_hooks, which reads the final annotations and mounts).

# pl_bundle_annotations JSON-OBJECT — replaces all annotations ({} removes them).
pl_bundle_annotations() {
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --argjson a "$1" \
    'if $a == {} then del(.annotations) else .annotations = $a end' ||
    e2e_die "setting annotations $1"
}

# pl_bundle_rootfs DIR — the container's root directory (read-only, as in lib.sh).
pl_bundle_rootfs() {
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg root "$1" '.root.path = $root' ||
    e2e_die "setting root.path $1"
}

# pl_bundle_resolv_conf HOST-FILE — bind-mounts a host file onto /etc/resolv.conf, read-only,
# the way podman and CRI-O hand a container its resolver configuration.
pl_bundle_resolv_conf() {
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg src "$1" '.mounts += [{
      destination: "/etc/resolv.conf", type: "bind", source: $src,
      options: ["rbind", "ro", "nosuid", "nodev", "noexec"]}]' ||
    e2e_die "bind-mounting $1 onto /etc/resolv.conf"
}

# pl_make_rootfs DIR — another busybox rootfs (lib.sh's applets plus a few more).
pl_make_rootfs() {
  local applet
  e2e_make_rootfs "$1"
  for applet in rm mv cp ln; do ln -sf busybox "$1/bin/$applet"; done
}

# ---------------------------------------------------------------------------------------
# The installed hook itself.

# pl_hook [ARGS...] — runs the installed oci-jail-hook (the default --pin-dir, like the hooks).
pl_hook() {
  "$(e2e_hook_path createRuntime)" "$@"
}

# pl_status_of ID — the container's object from `oci-jail-hook status --json`, or "null".
pl_status_of() {
  pl_hook status --json | jq -c --arg id "$1" 'first(.containers[] | select(.id == $id)) // null'
}

# pl_hook_stderr OUTFILE — what the hook wrote to stderr, out of runc's error log line
# (logrus quotes the message Go-style; for printable ASCII that is a JSON string).
pl_hook_stderr() {
  local msg
  msg=$(sed -n 's/.* level=error msg=\("\([^"\\]\|\\.\)*"\).*/\1/p' "$1" | tail -n 1)
  [[ -n $msg ]] || return 1
  msg=$(jq -r . <<<"$msg") || return 1
  [[ $msg == *", stderr: "* ]] || return 1
  printf '%s' "${msg#*, stderr: }"
}
