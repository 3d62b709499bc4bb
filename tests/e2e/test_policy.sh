#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317  # check callbacks are called through run_case
# shellcheck disable=SC2016  # jq programs and container shell code are single-quoted on purpose
#
# The per-container policy annotations, through a real runtime:
#   allow  tcp:127.0.0.1:P / tcp:[::1]:P open exactly that protocol, address and port of a
#          blocked host address; udp:*:P opens UDP port P on every blocked address, not TCP.
#   cidrs  extra blocked ranges, even addresses on the container's own loopback (which are
#          no host address at all); "private" blocks every 10/8 address, not only the host's.
#   mode   audit lets everything through but counts it: status --json, read while the
#          container runs, shows mode "audit", audited > 0, denied == 0.
#   bad    an invalid policy stops the container before its command runs, nothing is
#          pinned, and runc shows the hook's one-line message (exact text, oci/policy.cpp).
# Each container stays up after its probes until the test has read `status --json`.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=policy_lib.sh
source "$(dirname "$0")/policy_lib.sh"

e2e_runc_view "$@"

OWN_PORT=19000
# Addresses on the container netns's own lo: not the host's, so only a cidr rule blocks them.
OWN_ADDRS=(10.200.1.2 10.200.2.2 fd00:201::2 fd00:202::2 2001:db8::2)
for addr in "${OWN_ADDRS[@]}"; do
  if [[ $addr == *:* ]]; then
    _e2e_ip "$E2E_CT_NS" addr add "$addr/128" dev lo nodad
  else
    _e2e_ip "$E2E_CT_NS" addr add "$addr/32" dev lo
  fi
done

WAIT_FOR=$(e2e_sh_wait_for 30)

# Listeners the container starts on its own addresses (tcp and udp on OWN_PORT).
OWN_LISTENERS=()
for addr in 127.0.0.1 "${OWN_ADDRS[@]}"; do OWN_LISTENERS+=("tcp $addr" "udp $addr"); done

# run_case RUN NET(own|host) ANNOTATIONS-JSON CHECK PROBE...
# Runs the probes in a container that then waits; CHECK (a function, given RUN and the
# container id) runs while the container is still up.
run_case() {
  local run=$1 net=$2 annotations=$3 check=$4 id out sync own=no script rc=0 probe
  shift 4
  id=ojh-po-$$-$run
  out=$E2E_RUN_DIR/$run.out
  sync=$E2E_RUN_DIR/sync-$run
  mkdir -p "$sync"
  for probe in "$@"; do [[ $probe == *" $OWN_PORT "* ]] && own=yes; done
  script="$WAIT_FOR"$'\n'"echo container-started"$'\n'
  [[ $own == yes ]] && script+="$(e2e_sh_own_listeners "$OWN_PORT" "${OWN_LISTENERS[@]}")"$'\n'
  script+="$(pl_probe_script "$run" "$@")"$'\n'
  [[ $own == yes ]] && script+="$(e2e_sh_own_log 0.3)"$'\n'
  script+="touch /sync/probed"$'\n'"wait_for /sync/go"$'\n'"echo container-done"
  e2e_make_bundle "policy-$run" "$net" - "$script"
  e2e_bundle_bind "$sync" /sync
  pl_bundle_annotations "$annotations"
  e2e_bundle_wire_hooks
  e2e_runc_start "$id" "$E2E_BUNDLE" "$out"
  local runc_pid=$E2E_RUNC_PID
  if e2e_wait_file "$sync/probed" 150; then
    if [[ $own == yes ]]; then
      e2e_own_log "$out" "$E2E_RUN_DIR/$run.own.log"
      local addr
      for addr in 127.0.0.1 "${OWN_ADDRS[@]}"; do
        pl_listen_log tcp "$addr" "$OWN_PORT" "$E2E_RUN_DIR/$run.own.log"
        pl_listen_log udp "$addr" "$OWN_PORT" "$E2E_RUN_DIR/$run.own.log"
      done
    fi
    pl_check_probes "$run" "$out" "$@"
    "$check" "$run" "$id"
  else
    e2e_fail "$run: the container did not get through its probes: $(tail -n 3 "$out")"
  fi
  touch "$sync/go"
  e2e_wait_exit "$runc_pid" || rc=$?
  e2e_check "$run: runc run exited 0 (got $rc)" test "$rc" == 0
  e2e_check "$run: the container ran to its end" grep -qx container-done "$out"
  e2e_check "$run: status no longer lists the container" test "$(pl_status_of "$id")" == null
}

no_check() { :; }

# status_expect RUN ID DESCRIPTION [JQ-ARGS...] JQ-FILTER — the filter, applied to the
# container's object in `status --json`, is true.
status_expect() {
  local run=$1 id=$2 what=$3 status
  shift 3
  status=$(pl_status_of "$id")
  if jq -e "$@" <<<"$status" >/dev/null 2>&1; then
    e2e_pass "$run: status --json: $what"
  else
    e2e_fail "$run: status --json: $what (got $status)"
  fi
}

# ---------------------------------------------------------------------------------------
# 3a. jail.block-host.allow on a host-netns container.

A_V4=18101 A_V6=18102 A_UDP_ANY=18103 A_OTHER=18104
for port in $A_V4 $A_V6 $A_UDP_ANY $A_OTHER; do pl_listen "$E2E_HOST_NETNS" tcp 127.0.0.1 "$port"; done
for port in $A_V4 $A_UDP_ANY; do pl_listen "$E2E_HOST_NETNS" udp 127.0.0.1 "$port"; done
for port in $A_V4 $A_V6; do pl_listen "$E2E_HOST_NETNS" tcp ::1 "$port"; done
pl_listen "$E2E_HOST_NETNS" udp ::1 "$A_UDP_ANY"
pl_listen "$E2E_HOST_NETNS" udp "$E2E_HOST_V4" "$A_UDP_ANY"
for port in $A_V4 $A_UDP_ANY; do pl_listen "$E2E_HOST_NETNS" tcp "$E2E_HOST_V4" "$port"; done
pl_listen_alias tcp 127.0.0.1 "$A_V4" ::ffff:127.0.0.1
pl_listen_alias udp 127.0.0.1 "$A_UDP_ANY" ::ffff:127.0.0.1

ALLOW="tcp:127.0.0.1:$A_V4,tcp:[::1]:$A_V6,udp:*:$A_UDP_ANY"
allow_check() {
  status_expect "$1" "$2" "lists the three exceptions" \
    --arg a "$ALLOW" '(.exceptions | sort) == ($a | split(",") | sort)'
}
run_case allow host "{\"jail.block-host\": \"true\", \"jail.block-host.allow\": \"$ALLOW\"}" \
  allow_check \
  "connect tcp 127.0.0.1 $A_V4 reached" "sendto tcp 127.0.0.1 $A_V4 reached" \
  "connect tcp ::ffff:127.0.0.1 $A_V4 reached" \
  "connect tcp 127.0.0.1 $A_OTHER blocked" "connect udp 127.0.0.1 $A_V4 blocked" \
  "connect tcp ::1 $A_V4 blocked" "connect tcp $E2E_HOST_V4 $A_V4 blocked" \
  "connect tcp ::1 $A_V6 reached" "connect tcp 127.0.0.1 $A_V6 blocked" \
  "sendto udp 127.0.0.1 $A_UDP_ANY reached" "connect udp 127.0.0.1 $A_UDP_ANY reached" \
  "sendto udp ::ffff:127.0.0.1 $A_UDP_ANY reached" \
  "sendto udp ::1 $A_UDP_ANY reached" "sendto udp $E2E_HOST_V4 $A_UDP_ANY reached" \
  "connect tcp 127.0.0.1 $A_UDP_ANY blocked" "connect tcp $E2E_HOST_V4 $A_UDP_ANY blocked"
# Control: the same destinations without the exceptions.
run_case allow-control host '{"jail.block-host": "true"}' no_check \
  "connect tcp 127.0.0.1 $A_V4 blocked" "connect tcp ::1 $A_V6 blocked" \
  "sendto udp 127.0.0.1 $A_UDP_ANY blocked" "sendto udp $E2E_HOST_V4 $A_UDP_ANY blocked"

# ---------------------------------------------------------------------------------------
# 3b. jail.block-host.cidrs on an own-netns container: its own lo addresses.

cidr_check() {
  status_expect "$1" "$2" "lists 10.200.1.0/24 and fd00:201::/64 as cidr rules" \
    '.rules | index("10.200.1.0/24 (cidr)") != null and index("fd00:201::/64 (cidr)") != null'
}
private_check() {
  status_expect "$1" "$2" "lists the private ranges as cidr rules" \
    '.rules as $r | ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
       "fc00::/7"] | all(. as $c | $r | index("\($c) (cidr)") != null)'
}
run_case cidrs-control own '{"jail.block-host": "true"}' no_check \
  "connect tcp 10.200.1.2 $OWN_PORT reached" "connect tcp 10.200.2.2 $OWN_PORT reached" \
  "connect tcp fd00:201::2 $OWN_PORT reached" "connect tcp fd00:202::2 $OWN_PORT reached"
run_case cidrs own \
  '{"jail.block-host": "true", "jail.block-host.cidrs": "10.200.1.0/24,fd00:201::/64"}' \
  cidr_check \
  "connect tcp 10.200.1.2 $OWN_PORT blocked" "sendto tcp 10.200.1.2 $OWN_PORT blocked" \
  "connect tcp 10.200.2.2 $OWN_PORT reached" \
  "connect tcp fd00:201::2 $OWN_PORT blocked" "connect tcp fd00:202::2 $OWN_PORT reached" \
  "sendto udp 10.200.1.2 $OWN_PORT blocked" "sendto udp fd00:201::2 $OWN_PORT blocked" \
  "sendto udp 10.200.2.2 $OWN_PORT reached" "connect tcp 127.0.0.1 $OWN_PORT reached"
run_case cidrs-private own '{"jail.block-host": "true", "jail.block-host.cidrs": "private"}' \
  private_check \
  "connect tcp 10.200.1.2 $OWN_PORT blocked" "connect tcp 10.200.2.2 $OWN_PORT blocked" \
  "connect tcp fd00:201::2 $OWN_PORT blocked" "connect tcp 2001:db8::2 $OWN_PORT reached" \
  "connect tcp 127.0.0.1 $OWN_PORT reached"

# ---------------------------------------------------------------------------------------
# 3c. jail.block-host.mode=audit: counted, not denied.

AUDIT_PORT=18110
pl_listen "$E2E_HOST_NETNS" tcp 127.0.0.1 "$AUDIT_PORT"
pl_listen "$E2E_HOST_NETNS" udp 127.0.0.1 "$AUDIT_PORT"
pl_listen "$E2E_HOST_NETNS" tcp "$E2E_HOST_V4" "$AUDIT_PORT"
audit_check() {
  status_expect "$1" "$2" 'mode is "audit"' '.mode == "audit"'
  status_expect "$1" "$2" "audited connect4 >= 2 and sendmsg4 >= 1" \
    '.audited.connect4 >= 2 and .audited.sendmsg4 >= 1'
  status_expect "$1" "$2" "denied is 0 everywhere" '[.denied[]] | add == 0'
}
enforce_check() {
  status_expect "$1" "$2" 'mode is "enforce"' '.mode == "enforce"'
  status_expect "$1" "$2" "denied connect4 >= 2 and sendmsg4 >= 1" \
    '.denied.connect4 >= 2 and .denied.sendmsg4 >= 1'
  status_expect "$1" "$2" "audited is 0 everywhere" '[.audited[]] | add == 0'
}
run_case audit host '{"jail.block-host": "true", "jail.block-host.mode": "audit"}' audit_check \
  "connect tcp 127.0.0.1 $AUDIT_PORT reached" "sendto udp 127.0.0.1 $AUDIT_PORT reached" \
  "connect tcp $E2E_HOST_V4 $AUDIT_PORT reached"
run_case audit-control host '{"jail.block-host": "true", "jail.block-host.mode": "enforce"}' \
  enforce_check \
  "connect tcp 127.0.0.1 $AUDIT_PORT blocked" "sendto udp 127.0.0.1 $AUDIT_PORT blocked" \
  "connect tcp $E2E_HOST_V4 $AUDIT_PORT blocked"

# ---------------------------------------------------------------------------------------
# 3d. Invalid policies: refused before the container's command runs.

run_marker_case() {  # RUN ANNOTATIONS-JSON — sets RC
  local run=$1 annotations=$2
  e2e_make_bundle "bad-$run" host - "touch /markers/$run; echo container-ran"
  e2e_bundle_bind "$MARKERS" /markers
  pl_bundle_annotations "$annotations"
  e2e_bundle_wire_hooks
  RC=0
  e2e_runc_run "ojh-po-$$-$run" "$E2E_BUNDLE" "$E2E_RUN_DIR/$run.out" || RC=$?
}

expect_refused() {  # RUN ANNOTATIONS-JSON MESSAGE (what the hook prints after "container ID: ")
  local run=$1 id=ojh-po-$$-$1 expected got
  expected="oci-jail-hook: container $id: $3"
  run_marker_case "$run" "$2"
  e2e_check "bad $run: runc run failed" test "$RC" != 0
  got=$(pl_hook_stderr "$E2E_RUN_DIR/$run.out") || got="(no hook stderr in runc's log)"
  if [[ $got == "$expected" ]]; then
    e2e_pass "bad $run: the hook's stderr is exactly '$expected'"
  else
    e2e_fail "bad $run: the hook's stderr is '$got', expected exactly '$expected'"
  fi
  e2e_check "bad $run: the container's command never ran" test ! -e "$MARKERS/$run"
  e2e_check "bad $run: nothing pinned for the container" \
    test -z "$(e2e_pin_entries "$PIN_DIR" "$id")"
}

KNOWN="jail.block-host, jail.block-host.allow, jail.block-host.cidrs, jail.block-host.mode"
KNOWN+=", jail.block-host.dns, jail.block-host.unix"
bad() {  # RUN SUB-KEY VALUE MESSAGE — SUB-KEY=VALUE next to jail.block-host=true
  expect_refused "$1" "$(jq -cn --arg k "$2" --arg v "$3" '{"jail.block-host": "true", ($k): $v}')" \
    "$4"
}
bad unknown-key jail.block-host.alow tcp:127.0.0.1:80 \
  "unknown annotation \"jail.block-host.alow\" (known: $KNOWN)"
bad port-0 jail.block-host.allow tcp:127.0.0.1:0 \
  'annotation jail.block-host.allow: entry "tcp:127.0.0.1:0": port must be 1-65535'
bad port-65536 jail.block-host.allow tcp:127.0.0.1:65536 \
  'annotation jail.block-host.allow: entry "tcp:127.0.0.1:65536": port must be 1-65535'
bad no-port jail.block-host.allow tcp:127.0.0.1 \
  'annotation jail.block-host.allow: entry "tcp:127.0.0.1": expected PROTO:ADDR:PORT'
bad sctp jail.block-host.allow sctp:1.2.3.4:5 \
  'annotation jail.block-host.allow: entry "sctp:1.2.3.4:5": protocol must be tcp or udp'
bad v6-unbracketed jail.block-host.allow tcp:::1:80 \
  'annotation jail.block-host.allow: entry "tcp:::1:80": IPv6 addresses must be in brackets, e.g. tcp:[::1]:8080'
bad whitespace jail.block-host.allow "tcp:127.0.0.1:80, udp:*:53" \
  'annotation jail.block-host.allow: entry " udp:*:53": whitespace is not allowed'
bad duplicate jail.block-host.allow "udp:*:53,udp:*:53" \
  'annotation jail.block-host.allow: entry "udp:*:53": udp:*:53 duplicates entry "udp:*:53"'
bad host-bits jail.block-host.cidrs 10.0.0.1/8 \
  'annotation jail.block-host.cidrs: entry "10.0.0.1/8": host bits are set; did you mean 10.0.0.0/8?'
bad prefix-33 jail.block-host.cidrs 10.0.0.0/33 \
  'annotation jail.block-host.cidrs: entry "10.0.0.0/33": IPv4 prefix length must be 0-32'
bad empty-entry jail.block-host.cidrs 10.0.0.0/8, \
  'annotation jail.block-host.cidrs: entry 2 is empty: expected a.b.c.d/n, x::/n, an address or "private"'
bad mode-block jail.block-host.mode block \
  'annotation jail.block-host.mode="block" is invalid: expected "enforce" or "audit"'
bad mode-quoted jail.block-host.mode '"audit"' \
  'annotation jail.block-host.mode="\"audit\"" is invalid: expected "enforce" or "audit"'
bad dns-yes jail.block-host.dns yes \
  'annotation jail.block-host.dns="yes" is invalid: expected "true" or "false"'
expect_refused sub-key-alone '{"jail.block-host.mode": "audit"}' \
  'annotation jail.block-host.mode is set but jail.block-host is not "true"'
expect_refused sub-key-with-false '{"jail.block-host": "false", "jail.block-host.allow": "udp:*:53"}' \
  'annotation jail.block-host.allow is set but jail.block-host is not "true"'

# Control: every key, valid, and the marker works.
run_marker_case all-valid '{"jail.block-host": "true",
  "jail.block-host.allow": "tcp:127.0.0.1:80,tcp:[::1]:8080,udp:*:53",
  "jail.block-host.cidrs": "private,192.0.2.0/24,2001:db8::/32",
  "jail.block-host.mode": "enforce", "jail.block-host.dns": "false"}'
e2e_check "valid policy (control): runc run succeeded" test "$RC" == 0
e2e_check "valid policy (control): the container's command ran" test -e "$MARKERS/all-valid"

e2e_finish
