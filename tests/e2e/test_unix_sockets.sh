#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# AF_UNIX (issue 13). Abstract names belong to a network namespace, so a container that
# shares its host's netns (here: the fake host netns runc runs in) shares the host's abstract
# sockets (D-Bus, X11, containerd shims); path names are reached through the file system the
# runtime builds, so only a bind mount brings a host socket in (docker.sock). Checked with
# real runc containers against listeners of the fake host:
#   unenforced          the host's abstract sockets (stream connect, dgram connect, dgram
#                       sendto) and a bind-mounted host path socket are reached (the control)
#   enforced, host netns   the host's abstract sockets: EPERM, nothing arrives; the container's
#                       own path socket, socketpair() and the bind-mounted host socket work
#                       (the boundary is the runtime's mounts); its own abstract socket is
#                       refused too (the documented price: no program can tell whose it is)
#   enforced, own netns  its own abstract and path sockets work; the host's abstract names do
#                       not exist there
#   deny-all            jail.block-host.unix=deny-all: the bind-mounted host socket, its own
#                       path socket and the host's abstract sockets are refused with EPERM;
#                       socketpair() still works
# On a kernel without the cgroup AF_UNIX hooks (before 6.7) deny-all must be refused, and the
# rest is skipped with that reason.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_runc_view "$@"

HOST_STREAM=@ojh-e2e-host-$$
HOST_DGRAM=@ojh-e2e-hostdg-$$
SOCK_DIR=$W/hostsock # bind-mounted into the containers at /hostsock
mkdir -p "$SOCK_DIR"

# unix_listen NETNS-PATH stream|dgram NAME — a jail-probe unix-listen of the fake host; sets
# UNIX_LOG to its log.
unix_listen() {
  local netns=$1 type=$2 name=$3
  UNIX_LOG=$W/logs/unix-$type-${name//[\/@]/_}.log
  : >"$UNIX_LOG"
  e2e_probe_listener "$netns" "$UNIX_LOG.ready" "unix listener $type $name" \
    unix-listen "$type" "$name" "$UNIX_LOG"
}

unix_listen "$E2E_HOST_NETNS" stream "$HOST_STREAM"
LOG_STREAM=$UNIX_LOG
unix_listen "$E2E_HOST_NETNS" dgram "$HOST_DGRAM"
LOG_DGRAM=$UNIX_LOG
unix_listen "$E2E_HOST_NETNS" stream "$SOCK_DIR/api.sock"
LOG_PATH=$UNIX_LOG

# The container's own listeners (its own abstract name and a path in its /tmp); their log
# comes back in the container's output as "own-log: " lines.
own_listeners() {
  cat <<'EOF'
jail-probe unix-listen stream @ojh-own /tmp/own.log >>/tmp/own.ready 2>&1 &
pids="$!"
jail-probe unix-listen stream /tmp/own.sock /tmp/own.log >>/tmp/own.ready 2>&1 &
pids="$pids $!"
i=0
while [ "$(grep -c listening /tmp/own.ready)" -lt 2 ] && [ $i -lt 50 ]; do
  sleep 0.1; i=$((i + 1))
done
EOF
}

# The probes of every case, as "VERB TYPE NAME" (NAME as the container names it).
HOST_PROBES=("unix-connect stream $HOST_STREAM" "unix-connect dgram $HOST_DGRAM"
  "unix-sendto dgram $HOST_DGRAM")
MOUNTED_PROBE="unix-connect stream /hostsock/api.sock"
OWN_PROBES=("unix-connect stream @ojh-own" "unix-connect stream /tmp/own.sock")
PAIR_PROBES=("unix-socketpair stream" "unix-socketpair dgram")

container_script() {  # RUN
  local run=$1 probe
  echo "echo container-started"
  own_listeners
  for probe in "${HOST_PROBES[@]}" "$MOUNTED_PROBE" "${OWN_PROBES[@]}" "${PAIR_PROBES[@]}"; do
    echo "jail-probe $probe '$run/$probe' || true"
  done
  e2e_sh_own_log 0.3
  echo "echo container-done"
}

log_of() {  # PROBE — the fake host's listener log for a host probe
  case $1 in
    *"$HOST_STREAM") echo "$LOG_STREAM" ;;
    *"$HOST_DGRAM") echo "$LOG_DGRAM" ;;
    *) echo "$LOG_PATH" ;;
  esac
}

# run_case RUN NET ANNOTATION UNIX-ANNOTATION — runs the container; its output in $W/RUN.out.
run_case() {
  local run=$1 net=$2 annotation=$3 unix=$4
  e2e_make_bundle "unix-$run" "$net" "$annotation" "$(container_script "$run")"
  e2e_bundle_bind "$SOCK_DIR" /hostsock
  if [[ $unix != - ]]; then
    # shellcheck disable=SC2016  # a jq program
    _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg v "$unix" \
      '.annotations["jail.block-host.unix"] = $v' || e2e_die "annotating $run"
  fi
  e2e_bundle_wire_hooks
  e2e_run_to_end "$run" "ojh-ux-$$-$run"
  e2e_own_log "$W/$run.out" "$W/$run.own.log"
}

# expect RUN PROBE VERDICT [ARRIVED-IN yes|no] — the probe's line, and for a host listener
# whether its payload arrived there.
expect() {
  local run=$1 probe=$2 verdict=$3 arrived=${4:-}
  e2e_expect_line "$W/$run.out" "$probe: $verdict" "$run: $probe → $verdict"
  [[ -z $arrived ]] && return 0
  e2e_expect_arrival "$(log_of "$probe")" "$run/$probe" "$arrived" "$run: $probe"
}

# shellcheck disable=SC2317  # called through e2e_check
not_reached() {  # OUT PROBE — the probe ran and did not reach its destination
  grep -qF -- "$2: " "$1" && ! grep -qxF -- "$2: reached" "$1"
}

expect_own() {  # RUN PROBE VERDICT — a probe of the container's own listeners
  local run=$1 probe=$2 verdict=$3 arrived=yes
  [[ $verdict == reached ]] || arrived=no
  e2e_expect_line "$W/$run.out" "$probe: $verdict" "$run: $probe → $verdict"
  e2e_expect_arrival "$W/$run.own.log" "$run/$probe" "$arrived" "$run: $probe (own listener)"
}

# Controls first: they show the listeners and probes work before enforcement is judged.
run_case unenforced host - -
for probe in "${HOST_PROBES[@]}" "$MOUNTED_PROBE"; do expect unenforced "$probe" reached yes; done
for probe in "${OWN_PROBES[@]}"; do expect_own unenforced "$probe" reached; done

run_case enforced host true -
UNIX_STATUS=$("$HOOK" --pin-dir "$PIN_DIR" status --json | jq -c '.unix')
if [[ $(jq -r '.enforced' <<<"$UNIX_STATUS" 2>/dev/null) == false ]]; then
  # A kernel without the cgroup AF_UNIX hooks: the container that asks for them is refused.
  e2e_make_bundle unix-refused host true "echo container-ran"
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" '.annotations["jail.block-host.unix"] = "deny-all"'
  e2e_bundle_wire_hooks
  if e2e_runc_run "ojh-ux-$$-refused" "$E2E_BUNDLE" "$W/refused.out"; then
    e2e_fail "deny-all ran on a kernel that cannot judge AF_UNIX"
  else
    e2e_check "deny-all is refused with the reason" \
      grep -q 'AF_UNIX destinations cannot be judged' "$W/refused.out"
  fi
  ((TS_FAILED == 0)) || e2e_finish
  e2e_skip "AF_UNIX is not enforced here: $(jq -r '.reason' <<<"$UNIX_STATUS")"
fi
# Anything but {"enforced": true, ...} (a hook that does not know AF_UNIX has no member) is
# a failure, and the probes below show what it lets through.
if [[ $(jq -r '.enforced' <<<"$UNIX_STATUS" 2>/dev/null) == true ]]; then
  e2e_pass "status --json: unix.enforced is true"
else
  e2e_fail "status --json: unix is $UNIX_STATUS, not {\"enforced\": true, ...}"
fi
for probe in "${HOST_PROBES[@]}"; do expect enforced "$probe" "blocked EPERM" no; done
expect enforced "$MOUNTED_PROBE" reached yes
expect_own enforced "unix-connect stream /tmp/own.sock" reached
expect_own enforced "unix-connect stream @ojh-own" "blocked EPERM"
for probe in "${PAIR_PROBES[@]}"; do expect enforced "$probe" reached; done

run_case own-netns own true -
for probe in "${OWN_PROBES[@]}"; do expect_own own-netns "$probe" reached; done
for probe in "${HOST_PROBES[@]}"; do
  e2e_check "own-netns: $probe does not reach the host" \
    not_reached "$W/own-netns.out" "$probe"
  e2e_expect_arrival "$(log_of "$probe")" "own-netns/$probe" no "own-netns: $probe"
done

run_case deny-all host true deny-all
for probe in "${HOST_PROBES[@]}" "$MOUNTED_PROBE"; do
  expect deny-all "$probe" "blocked EPERM" no
done
for probe in "${OWN_PROBES[@]}"; do expect_own deny-all "$probe" "blocked EPERM"; done
for probe in "${PAIR_PROBES[@]}"; do expect deny-all "$probe" reached; done

e2e_finish
