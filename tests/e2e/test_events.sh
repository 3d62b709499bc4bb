#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317,SC2016  # helpers called through h_wait_until; sh -c is single-quoted
#
# Denial records (`oci-jail-hook events`, issue 14). Synthetic containers (processes in test
# cgroups the hook enforces from the fake host's network namespace, as a runtime runs it):
#   1. A follower (`events --follow --json`) started before any denial sees the later ones.
#   2. A refused TCP connect, UDP sendmsg, IPv6 connect, IPv4-mapped connect and raw ICMP
#      packet each show up in `events --json` with the right container, operation,
#      protocol, address and port within one second; the human form reads as one line.
#   3. A second follower (the ring is taken) sees a new denial too, from the retained records.
#   4. Audit mode records `audited`; `advise` turns the records into the smallest
#      jail.block-host.allow (warning for SSH and metadata, ICMP named as not allowable), and
#      that annotation lets exactly those destinations through.
#   5. A container flooding denied datagrams is rate-limited: records dropped are counted
#      (metrics), the follower got no more than the bucket allows, the container keeps
#      its last 64 records.
#   6. After poststop the container's records are gone from the kernel's maps, and
#      `events --container` says it is not enforced.
#   7. A user (not root) without an attach service gets one line.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

h_synthetic_view "$@"
PORT=18096
OBJS=$PIN_DIR/v1/objects

# ev_json ARGS... — `events --json` lines (retained records).
ev_json() { h_hook events --json "$@"; }

# has_record FILE JQ-FILTER — a line of FILE (JSON lines) matches the filter.
has_record() { jq -e -s "any(.[]; $2)" "$1" >/dev/null 2>&1; }

# retained_has CONTAINER JQ-FILTER — `events --json --container` has a matching record.
retained_has() {
  ev_json --container "$1" >"$W/retained.json" 2>/dev/null || return 1
  has_record "$W/retained.json" "$2"
}

# probe CGNAME ARGS... — jail-probe from that container's cgroup in the container netns.
probe() {
  local cg=$1
  shift
  h_probe_from "$E2E_CT_NETNS" "$H_CG2/$cg" "$@" || true
}

h_bundle "$W/bundle"
h_enforced c1 "$W/bundle"
CG1=$(h_cgroup_id "$H_CG2/c1")

# 1. The follower takes the ring (its lock) before any denial happens.
h_hook events --follow --json >"$W/follow.json" 2>"$W/follow.err" &
FOLLOW=$!
e2e_defer "kill $FOLLOW 2>/dev/null; wait $FOLLOW 2>/dev/null || true"
ring_taken() { ! flock -n "$PIN_DIR/v1/events-follow" true 2>/dev/null; }
e2e_check "the follower holds the ring" h_wait_until 5 ring_taken

# 2. One denial of each kind, each seen within a second.
# expect_record WHAT JQ-FILTER PROBE-ARGS... — probes from c1, then waits for the record.
expect_record() {
  local what=$1 filter=$2 ms
  shift 2
  probe c1 "$@"
  if ms=$(h_wait_until 1 retained_has c1 "$filter"); then
    e2e_pass "$what is recorded after ${ms} ms"
  else
    e2e_fail "$what is not recorded within a second: $(cat "$W/retained.json")"
  fi
}
base='.container == "c1" and .verdict == "denied" and .reason == "host"'
expect_record "a refused TCP connect" \
  "$base"' and .operation == "connect4" and .protocol == "tcp" and .address == "'"$E2E_HOST_V4"'" and .port == '"$PORT"' and .pid > 0 and .cgroup_id == '"$CG1" \
  connect tcp "$E2E_HOST_V4" "$PORT"
expect_record "a refused UDP sendmsg" \
  "$base"' and .operation == "sendmsg4" and .protocol == "udp" and .address == "'"$E2E_HOST_V4"'" and .port == '"$((PORT + 1))" \
  sendmsg udp "$E2E_HOST_V4" "$((PORT + 1))"
expect_record "a refused IPv6 connect" \
  "$base"' and .operation == "connect6" and .protocol == "tcp" and .address == "'"$E2E_HOST_V6"'" and .port == '"$((PORT + 2))" \
  connect tcp "$E2E_HOST_V6" "$((PORT + 2))"
expect_record "a refused IPv4-mapped connect (shown as the IPv4 address)" \
  "$base"' and .operation == "connect6" and .address == "'"$E2E_HOST_V4"'" and .port == '"$((PORT + 3))" \
  connect tcp "::ffff:$E2E_HOST_V4" "$((PORT + 3))"
expect_record "a refused raw ICMP packet (egress: no pid)" \
  "$base"' and .operation == "egress" and .protocol == "icmp" and .address == "'"$E2E_HOST_V4"'" and .port == 0 and .pid == 0' \
  ping "$E2E_HOST_V4"
e2e_check "every record has an RFC 3339 UTC time" \
  jq -e -s 'all(.[]; .time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$"))' \
  "$W/retained.json"

follow_has() { has_record "$W/follow.json" "$1"; }
e2e_check "the follower saw the connect that happened after it started" \
  h_wait_until 1 follow_has '.container == "c1" and .operation == "connect4" and .port == '"$PORT"
e2e_check "the follower saw the raw ICMP packet" \
  h_wait_until 1 follow_has '.container == "c1" and .operation == "egress" and .protocol == "icmp"'

line=$(h_hook events --container c1 | grep " connect4 " | head -1 || true)
e2e_check "the human form is one line: $line" \
  grep -Eq "^[0-9]{2}:[0-9]{2}:[0-9]{2} c1 denied tcp $E2E_HOST_V4:$PORT connect4 pid [0-9]+" <<<"$line"

# 3. A second follower: the ring is taken, it reads the retained records.
h_hook events --follow --json --container c1 >"$W/follow2.json" 2>"$W/follow2.err" &
FOLLOW2=$!
e2e_defer "kill $FOLLOW2 2>/dev/null; wait $FOLLOW2 2>/dev/null || true"
sleep 0.5
probe c1 connect tcp "$E2E_HOST_V4" "$((PORT + 4))"
follow2_has() { has_record "$W/follow2.json" "$1"; }
e2e_check "a second follower sees a new denial too" \
  h_wait_until 1 follow2_has '.operation == "connect4" and .port == '"$((PORT + 4))"
e2e_check "the second follower did not print what happened before it started" \
  eval "! follow2_has '.port == $PORT'"

# 4. Audit mode.
h_sleeper c2
out=$(h_state c2 "$H_PID" "$W/bundle" '{"jail.block-host":"true","jail.block-host.mode":"audit"}' |
  h_hook create-runtime 2>&1) || e2e_die "create-runtime of c2: $out"
e2e_defer "h_state c2 0 '$W/bundle' | h_hook poststop || true"
probe c2 connect tcp "$E2E_HOST_V4" "$((PORT + 5))"
e2e_check "audit mode records the would-be denial as audited" \
  h_wait_until 1 retained_has c2 '.verdict == "audited" and .operation == "connect4" and .port == '"$((PORT + 5))"

probe c2 connect tcp "$E2E_HOST_V4" 22
probe c2 sendmsg udp "$E2E_HOST_V6" "$((PORT + 6))"
probe c2 connect tcp "$E2E_META_V4" 80
probe c2 ping "$E2E_HOST_V4"
h_wait_until 1 retained_has c2 '.protocol == "icmp"' >/dev/null || true
advice=$(h_hook advise --json --container c2) || e2e_fail "advise failed: $advice"
want_annotation="jail.block-host.allow=$(printf '%s\n' "tcp:$E2E_HOST_V4:$((PORT + 5))" \
  "tcp:$E2E_HOST_V4:22" "tcp:$E2E_META_V4:80" "udp:[$E2E_HOST_V6]:$((PORT + 6))" | sort | paste -sd,)"
e2e_check "advise: the smallest allow annotation ($(jq -r .annotation <<<"$advice"))" \
  test "$(jq -r .annotation <<<"$advice")" == "$want_annotation"
e2e_check "advise: a warning for the host's SSH and for the metadata service" \
  jq -e '([.entries[] | select(.warning != null) | .entry] | sort) ==
    (["tcp:'"$E2E_HOST_V4"':22", "tcp:'"$E2E_META_V4"':80"] | sort)' <<<"$advice"
e2e_check "advise: ICMP is named as not allowable" \
  jq -e '.not_allowable | any(startswith("icmp '"$E2E_HOST_V4"'"))' <<<"$advice"
h_hook advise --container c2 >"$W/advice.txt" || true
e2e_check "advise (text): the annotation first, then one warning line each" \
  sh -c "head -1 '$W/advice.txt' | grep -qxF '$want_annotation' && test \$(grep -c '^warning: ' '$W/advice.txt') = 2"
# The advice works: a container with that annotation (enforce mode) reaches those
# destinations' listeners and no other port of the host.
h_sleeper c4
e2e_listen "$E2E_HOST_NETNS" tcp "$E2E_HOST_V4" "$((PORT + 5))"
out=$(h_state c4 "$H_PID" "$W/bundle" "$(jq -cn --arg a "${want_annotation#*=}" \
  '{"jail.block-host":"true","jail.block-host.allow":$a}')" | h_hook create-runtime 2>&1) ||
  e2e_die "create-runtime of c4: $out"
e2e_defer "h_state c4 0 '$W/bundle' | h_hook poststop || true"
rc=0
h_probe_from "$E2E_CT_NETNS" "$H_CG2/c4" connect tcp "$E2E_HOST_V4" "$((PORT + 5))" || rc=$?
e2e_check "the advised annotation lets the recorded destination through (probe exit $rc)" test "$rc" = 0
rc=0
h_probe_from "$E2E_CT_NETNS" "$H_CG2/c4" connect tcp "$E2E_HOST_V4" "$((PORT + 7))" || rc=$?
e2e_check "and no other port of the host (probe exit $rc: EPERM is 1)" test "$rc" = 1

# 5. A flood of denied datagrams.
h_sleeper c3
C3_PID=$H_PID
out=$(h_state c3 "$H_PID" "$W/bundle" | h_hook create-runtime 2>&1) || e2e_die "create-runtime of c3: $out"
e2e_defer "h_state c3 0 '$W/bundle' | h_hook poststop || true"
FLOOD=20000
flood_start=$(h_ms)
nsenter --net="$E2E_CT_NETNS" -- sh -c 'echo $$ >"$1/cgroup.procs" && exec python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    try:
        s.sendto(b\"x\", (sys.argv[1], int(sys.argv[2])))
    except PermissionError:
        pass
" "$2" "$3" "$4"' sh "$H_CG2/c3" "$E2E_HOST_V4" "$((PORT + 6))" "$FLOOD"
flood_s=$(( ($(h_ms) - flood_start + 999) / 1000 ))
sleep 0.3
h_hook metrics >"$W/metrics.txt"
dropped=$(sed -n 's/^ojh_event_records_dropped_total{container="c3",[^}]*} //p' "$W/metrics.txt")
kept=$(sed -n 's/^ojh_event_records_total{container="c3",[^}]*} //p' "$W/metrics.txt")
denied=$(sed -n 's/^ojh_denied_total{container="c3",[^}]*,operation="sendmsg4"} //p' "$W/metrics.txt")
e2e_log "flood: $FLOOD datagrams in ~${flood_s} s: denied $denied, recorded $kept, dropped $dropped"
e2e_check "every datagram of the flood was denied ($denied)" test "${denied:-0}" -eq "$FLOOD"
e2e_check "the rate limit dropped records ($dropped)" test "${dropped:-0}" -gt 0
e2e_check "recorded + dropped = denied" test "$((kept + dropped))" -eq "$FLOOD"
# The bucket: 64 at once, then 32 per second (bpf/block_host_events.h).
limit=$((64 + 32 * (flood_s + 1)))
e2e_check "no more records than the bucket allows ($kept <= $limit)" test "$kept" -le "$limit"
streamed=$(jq -s '[.[] | select(.container == "c3")] | length' "$W/follow.json")
e2e_check "the follower got at most what was recorded ($streamed <= $kept)" test "$streamed" -le "$kept"
e2e_check "the container keeps its last 64 records" \
  test "$(ev_json --container c3 | wc -l)" -eq 64
e2e_check "metrics is OpenMetrics text (ends with # EOF)" eval "tail -1 '$W/metrics.txt' | grep -qx '# EOF'"

# 6. poststop removes the records.
recent_of() {  # CGROUP-ID — records of that cgroup in the kernel's hash
  bpftool -j map dump pinned "$OBJS/events_recent" |
    jq --argjson id "$1" '[.[] | select(.formatted.key.cgroup_id == $id)] | length'
}
state_of() {  # CGROUP-ID — rate-limit states of that cgroup in the kernel's hash
  bpftool -j map dump pinned "$OBJS/event_state" |
    jq --argjson id "$1" '[.[] | select(.formatted.key == $id)] | length'
}
CG3=$(h_cgroup_id "$H_CG2/c3")
e2e_check "before poststop the kernel holds c3's records" test "$(recent_of "$CG3")" -gt 0
e2e_check "before poststop the kernel holds c3's rate-limit state" test "$(state_of "$CG3")" -eq 1
# The container stops (its init exits), then the runtime runs poststop.
kill "$C3_PID"
h_wait_until 5 _e2e_pid_dead "$C3_PID" >/dev/null || e2e_die "c3's process did not exit"
h_state c3 0 "$W/bundle" | h_hook poststop
e2e_check "after poststop the kernel holds none of c3's records" test "$(recent_of "$CG3")" -eq 0
e2e_check "after poststop no rate-limit state of c3 is left" test "$(state_of "$CG3")" -eq 0
# one_line TEXT PATTERN — TEXT is one line and matches PATTERN.
one_line() { [[ $(wc -l <<<"$1") == 1 ]] && grep -q -- "$2" <<<"$1"; }
out=$(h_hook events --container c3 2>&1 || true)
e2e_check "events for a released container says so in one line: $out" \
  one_line "$out" 'no enforced container c3'


# 7. A user without an attach service.
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups -- "$HOOK" --pin-dir "$PIN_DIR" \
  --socket "$W/none.sock" events 2>&1 || true)
e2e_check "a user without the attach service gets one line: $out" test "$(wc -l <<<"$out")" -eq 1
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups -- "$HOOK" --pin-dir "$PIN_DIR" \
  events --follow 2>&1 || true)
e2e_check "a user's --follow is refused in one line: $out" one_line "$out" 'needs root'

e2e_check "the follower logged nothing: $(tr '\n' ' ' <"$W/follow.err")" test ! -s "$W/follow.err"
e2e_finish
