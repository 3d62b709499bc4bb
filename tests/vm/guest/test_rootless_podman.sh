#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Rootless podman as a trixie user runs it (issue 11): the ordinary users alice and bob of
# the image (subordinate ids, lingering, so user@UID.service and its delegated cgroup tree
# exist), podman's defaults — the systemd cgroup manager (the container in
# user@UID.service/user.slice/libpod-<id>.scope), pasta as the network, crun — and the hook
# found in /usr/share/containers/oci/hooks.d. The hook runs in podman's user namespace and
# cannot attach anything itself: it asks the attach service (oci-jail-hook.socket, enabled
# as the README says), which attaches as root of the host.
#   - alice's enforced container gets EPERM for 169.254.1.2 (pasta's --map-guest-addr: the
#     host's uplink address), for the host's v4 and v6 addresses and 169.254.169.254, over
#     TCP and UDP, and for 169.254.1.2 at the port of a host service on 127.0.0.1 only; its
#     own loopback works and UDP to pasta's DNS forwarder 169.254.1.1:53 (its resolv.conf)
#     is not refused: it arrives at the host's resolver; all released after run --rm;
#   - the control, without the annotation, reaches the same listeners;
#   - with the socket and the service stopped an enforced container is refused with the
#     hook's line (the service is not running, how to enable it) and its command never runs;
#   - bob sees none of alice's containers in `status --json`, and his poststop (also inside
#     a user namespace) and gc leave her running enforced container enforced;
#   - the service survives garbage, an oversized request, malformed requests, connections
#     closed half-way and a flood of them, from bob; while bob stalls more connections than
#     it serves for one user, alice's `status` is answered; afterwards bob's is too;
#   - `podman rm -f` of alice's enforced container releases everything of hers.
#
# pasta copies the guest's uplink (the interface of the default route) into the container,
# addresses included: the host's address there is the container's own. So this file gives
# the guest an uplink of its own, ojh1, which is not probed, and takes 169.254.1.2 off ojh0
# (on a real host it is no host address: only pasta's mapping leads there); the resolver of
# the guest's resolv.conf gets an address and a UDP listener, so that pasta's DNS forward has
# somewhere to arrive. All of it is undone at the end: this file runs after the rootful ones.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

USER1=alice
USER2=bob
UID1=$(id -u "$USER1")
UID2=$(id -u "$USER2")
# The installed binary a user runs (status, gc, poststop go through the service): on the
# PATH if the install puts it there, else where the hooks.d files point.
USER_HOOK=/usr/bin/oci-jail-hook
[[ -x $USER_HOOK ]] || USER_HOOK=$HOOK
SOCKET=/run/oci-jail-hook/attach.sock
UNITS=(oci-jail-hook.socket oci-jail-hook.service)
UPLINK=ojh1
UPLINK_V4=203.0.113.10
UPLINK_V6=2001:db8:2::10
PASTA_DNS=169.254.1.1
RESOLVER=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
# A host service on the host's loopback only.
LOOPBACK_PORT=18081
ADDRS="$PASTA_HOST $DUMMY_V4 $DUMMY_V6 $METADATA"

# alice's podman for probes_run, detached_run and container_cgroup, her cidfiles in a
# directory she owns.
mapfile -t PODMAN < <(user_command "$USER1" podman)
CID_DIR=$STATE/rootless
install -d -m 0755 -o "$USER1" -g "$(id -g "$USER1")" "$CID_DIR"

listeners=()
# shellcheck disable=SC2317  # called by the EXIT trap
restore_network() {
  as_user "$USER1" podman rm --all --force --time 0 >/dev/null 2>&1 || true
  ((${#listeners[@]} == 0)) || kill "${listeners[@]}" 2>/dev/null || true
  ip link del "$UPLINK" 2>/dev/null || true
  ip addr del "$RESOLVER/32" dev ojh0 2>/dev/null || true
  ip addr add "$PASTA_HOST/32" dev ojh0 2>/dev/null || true
}
trap restore_network EXIT

# listen PROTO ADDR PORT — one more jail-probe listener, logging into $LISTEN_LOG.
listen() {
  local out=$STATE/listener-rl-$1-$2-$3.out i
  "$PROBE" listen "$1" "$2" "$3" "$LISTEN_LOG" >"$out" 2>&1 &
  listeners+=($!)
  for ((i = 0; i < 50; i++)); do grep -q listening "$out" && return 0; sleep 0.1; done
  cat "$out"
  return 1
}

ip link add "$UPLINK" type dummy
ip link set "$UPLINK" up
ip addr add "$UPLINK_V4/24" dev "$UPLINK"
ip addr add "$UPLINK_V6/64" dev "$UPLINK" nodad
ip route add default via "${UPLINK_V4%.*}.1" dev "$UPLINK"
ip -6 route add default via "${UPLINK_V6%::*}::1" dev "$UPLINK"
ip addr del "$PASTA_HOST/32" dev ojh0
ip addr add "$RESOLVER/32" dev ojh0
listen udp "$RESOLVER" 53
listen tcp 127.0.0.1 "$LOOPBACK_PORT"
log "uplink $UPLINK: $UPLINK_V4, $UPLINK_V6; resolver $RESOLVER listened on; addresses now: $(ip -br addr | tr -s ' ' | tr '\n' ';')"
log "units: $(systemctl is-enabled "${UNITS[0]}" 2>&1) / $(systemctl is-active "${UNITS[@]}" 2>&1 | tr '\n' ' ')"

# status_json [USER] — `status --json` as root (the hook), or as USER (the installed binary,
# answered by the service); fails the scenario when it fails or prints no JSON object.
status_json() {
  local out rc=0
  if (($# == 0)); then
    out=$("$HOOK" status --json 2>&1) || rc=$?
  else
    out=$(as_user "$1" "$USER_HOOK" status --json 2>&1) || rc=$?
  fi
  if ((rc != 0)) || ! jq -e '.containers | type == "array"' <<<"$out" >/dev/null 2>&1; then
    fail "status --json as ${1:-root} failed ($rc): $(tail -n 1 <<<"$out")"
    echo '{"containers":[]}'
    return 1
  fi
  echo "$out"
}

# owned_by UID — root's `status --json` containers whose owner_uid is UID, one id a line.
owned_by() {
  status_json | jq -r --argjson u "$1" '.containers[] | select(.owner_uid == $u) | .id'
}

# rootless_state — what the hook holds for alice: its link count and her containers.
rootless_state() { echo "$(hook_links) links, uid $UID1 holds: $(owned_by "$UID1" | sort | tr '\n' ' ')"; }

# expect_rootless_released TAG BEFORE — the hook holds for alice what it held before
# ($(rootless_state)); poststop runs in podman's cleanup process, so allow a few seconds.
expect_rootless_released() {
  local i now
  for ((i = 0; i < 30; i++)); do
    now=$(rootless_state)
    [[ $now == "$2" ]] && return 0
    sleep 0.5
  done
  fail "$1: not released: $now; before the container: $2"
}

# enforced_entry ID — root's status object of container ID ("null" when there is none).
enforced_entry() { status_json | jq -c --arg id "$1" 'first(.containers[] | select(.id == $id)) // null'; }

# expect_still_enforced TAG ID — container ID is listed by root with alice as owner, its
# cgroup alive and a link for every program loaded: the five IP ones, socket_create where
# the BPF LSM refuses raw sockets, and the two AF_UNIX ones where they are enforced.
expect_still_enforced() {
  local entry links=5
  entry=$(enforced_entry "$2")
  log "root's status of ${2:0:12}: $entry"
  [[ $(status_json | jq -r .raw_sockets) == lsm ]] && links=$((links + 1))
  [[ $(status_json | jq -r .unix.enforced) == true ]] && links=$((links + 2))
  jq -e --argjson u "$UID1" --argjson n "$links" \
    '.owner_uid == $u and .cgroup_alive == true and (.links | length) == $n' \
    <<<"$entry" >/dev/null ||
    fail "$1: ${2:0:12} is no longer enforced as alice's: $entry"
}

# dns_probe TAG — UDP to pasta's DNS forwarder, which sends it on to the host's resolver.
dns_probe() { echo "sendto udp $PASTA_DNS 53 $1/dns"; }

rootless_enforced() {
  local before addrs probes loopback extra
  before=$(rootless_state)
  log "hook before: $before"
  read -ra addrs <<<"$ADDRS"
  mapfile -t probes < <(host_probes rl-enforced "${addrs[@]}")
  probes+=("connect tcp $PASTA_HOST $LOOPBACK_PORT rl-enforced/host-loopback")
  mapfile -t loopback < <(own_loopback_probes rl-enforced)
  # Not judged: the uplink address pasta copied into the container is its own (a note below).
  extra=("listen tcp 0.0.0.0 $((OWN_PORT + 1))" "connect tcp $UPLINK_V4 $((OWN_PORT + 1)) rl-enforced/own-address")
  probes_run rl-enforced "${ENFORCE[@]}" -- "${probes[@]}" "${loopback[@]}" "$(dns_probe rl-enforced)" \
    "${extra[@]}" "run cat /etc/resolv.conf" "run ip addr" || return 0
  expect_blocked rl-enforced "${probes[@]}"
  expect_reached rl-enforced "${loopback[1]}" "$(dns_probe rl-enforced)"
  log "note: the container's own (pasta-copied) address $UPLINK_V4: $(probe_line rl-enforced "${extra[1]}")"
  expect_rootless_released rl-enforced "$before"
}

rootless_control() {
  local addrs probes loopback
  read -ra addrs <<<"$ADDRS"
  mapfile -t probes < <(host_probes rl-control "${addrs[@]}")
  mapfile -t loopback < <(own_loopback_probes rl-control)
  probes_run rl-control -- "${probes[@]}" "${loopback[@]}" "$(dns_probe rl-control)" \
    "connect tcp $PASTA_HOST $LOOPBACK_PORT rl-control/host-loopback" || return 0
  expect_reached rl-control "${probes[@]}" "${loopback[1]}" "$(dns_probe rl-control)"
  log "note: 169.254.1.2 at the port of the host's 127.0.0.1-only service: $(probe_line rl-control \
    "connect tcp $PASTA_HOST $LOOPBACK_PORT x")"
}

# expect_service_line FILE SINCE — the hook's line about the missing service, in FILE
# (podman's output) or, as the runtime may drop a hook's stderr, in the journal since SINCE.
expect_service_line() {
  local file=$1 since=$2 where journal
  journal=$(journalctl -b -q -o cat -t oci-jail-hook --since "@$since" 2>/dev/null || true)
  for where in podman journal; do
    local text
    if [[ $where == podman ]]; then text=$(cat "$file"); else text=$journal; fi
    if grep -F 'the attach service is not running' <<<"$text" |
      grep -qF 'systemctl enable --now oci-jail-hook.socket'; then
      log "the hook's line is in the $where output: $(grep -F 'the attach service is not running' <<<"$text" | head -n 1)"
      [[ $where == podman ]] || log "note: podman's own output does not carry it: $(tail -n 1 "$file")"
      return 0
    fi
  done
  fail "no line 'the attach service is not running ... systemctl enable --now oci-jail-hook.socket': podman said: $(tail -n 1 "$file"); the hook's journal: $(tail -n 1 <<<"$journal")"
}

service_stopped() {
  local since rc=0 out=$STATE/rl-stopped.out left
  run_logged systemctl stop "${UNITS[@]}"
  rm -f "$CID_DIR/rl-stopped.ran"
  since=$(date +%s)
  log "+ ${PODMAN[*]} run --rm ${ENFORCE[*]} -v $CID_DIR:/out $IMAGE sh -c 'touch /out/rl-stopped.ran'"
  timeout "$PODMAN_TIMEOUT" "${PODMAN[@]}" run --rm "${ENFORCE[@]}" -v "$CID_DIR:/out" "$IMAGE" \
    sh -c 'touch /out/rl-stopped.ran; echo rl-stopped-ran' >"$out" 2>&1 || rc=$?
  cat "$out"
  ((rc != 0)) || fail "rl-stopped: podman run succeeded with the attach service stopped"
  expect_service_line "$out" "$since"
  [[ ! -e $CID_DIR/rl-stopped.ran ]] || fail "rl-stopped: the container's command ran"
  left=$(as_user "$USER1" podman ps --all --quiet)
  [[ -z $left ]] || fail "rl-stopped: containers left: $left"
  run_logged systemctl start "${UNITS[0]}" || fail "systemctl start ${UNITS[0]} failed"
  systemctl is-active -q "${UNITS[0]}" || fail "${UNITS[0]} is $(systemctl is-active "${UNITS[0]}") after the restart"
  status_json "$USER1" >/dev/null || true
}

# poststop_as USER ID BUNDLE [WRAPPER...] — alice's container's poststop state piped into the
# installed binary, as USER (inside WRAPPER: a user namespace). The answer is only logged.
poststop_as() {
  local user=$1 id=$2 bundle=$3 rc=0 out
  shift 3
  out=$(jq -cn --arg id "$id" --arg b "$bundle" '{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}' |
    as_user "$user" "$@" "$USER_HOOK" poststop 2>&1) || rc=$?
  log "poststop as $user${*:+ in $*}: exit $rc: $out"
}

# The enforced container of alice that the next scenarios share: its id in $CID_DIR/rl-kept.cid,
# the hook's link count before it in $STATE/rl-kept.links, $STATE/rl-kept.enforced once root's
# status lists it as hers.
other_user_isolation() {
  local id cg placed entry bundle mine theirs out
  hook_links >"$STATE/rl-kept.links"
  detached_run rl-kept "${ENFORCE[@]}" || return 0
  id=$(cid rl-kept)
  cg=$(container_cgroup "$id")
  placed=$(hook_cgroups | grep -F -- "$id" || true)
  log "container cgroup: $cg; cgroups with the hook's programs for it: ${placed:-none}"
  [[ $cg == /sys/fs/cgroup/user.slice/user-$UID1.slice/user@$UID1.service/* ]] ||
    fail "rl-kept: the container's cgroup $cg is not in alice's delegated tree"
  if [[ -z $placed ]]; then
    fail "rl-kept: the hook's programs are on no cgroup of container ${id:0:12} ($(hook_cgroups | tr '\n' ' '))"
  elif [[ $cg != "$placed" && $cg != "$placed"/* ]]; then
    fail "rl-kept: the hook's programs are on $placed, which does not contain the container's $cg"
  fi
  entry=$(enforced_entry "$id")
  log "root's status: $entry"
  if jq -e --argjson u "$UID1" '.owner_uid == $u' <<<"$entry" >/dev/null; then
    : >"$STATE/rl-kept.enforced"
  else
    fail "rl-kept: root's status --json does not list ${id:0:12} with owner_uid $UID1: $entry"
  fi
  bundle=$(jq -r '.bundle // empty' <<<"$entry")
  [[ -n $bundle ]] || bundle=$(as_user "$USER1" podman inspect -f '{{.StaticDir}}' "$id")
  mine=$(status_json "$USER1")
  log "alice's status --json: $mine"
  jq -e --arg id "$id" --argjson u "$UID1" 'any(.containers[]; .id == $id) and all(.containers[]; .owner_uid == $u)' \
    <<<"$mine" >/dev/null || fail "alice's status --json does not list (only) her containers"
  theirs=$(status_json "$USER2")
  log "bob's status --json: $theirs"
  jq -e --argjson u "$UID2" 'all(.containers[]; .owner_uid == $u)' <<<"$theirs" >/dev/null ||
    fail "bob's status --json lists containers of others: $theirs"

  poststop_as "$USER2" "$id" "$bundle"
  expect_still_enforced "poststop by bob" "$id"
  poststop_as "$USER2" "$id" "$bundle" unshare --user --map-root-user
  expect_still_enforced "poststop by bob in a user namespace" "$id"
  out=$(as_user "$USER2" "$USER_HOOK" gc 2>&1) || true
  log "gc as bob: $out"
  expect_still_enforced "gc by bob" "$id"
  [[ $(hook_links) -gt $(cat "$STATE/rl-kept.links") ]] || fail "rl-kept: the hook holds no more links than before the container"

  out=$(as_user "$USER1" podman exec "$id" jail-probe connect tcp "$DUMMY_V4" "$PORT" rl-kept/after-bob 2>&1 || true)
  log "podman exec probe: $out"
  [[ $out == *": blocked EPERM"* ]] || fail "rl-kept: after bob's attempts alice's container reached $DUMMY_V4: $out"
  ! arrived rl-kept/after-bob || fail "rl-kept: the listener logged the probe after bob's attempts"
}

# The service's robustness against a local user: bob sends what no hook would.
garbage_script=$(
  cat <<'PY'
import os, socket, sys, time

path, case = sys.argv[1], sys.argv[2]

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s

def answer(s):
    data = b""
    while len(data) < (1 << 20):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return "closed without an answer" if not data else "answered %d bytes: %r" % (len(data), data[:160])

def send_then_answer(payload):
    s = connect()
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
    except OSError as e:  # the service may stop reading and close: that is an answer too
        return "sending %d bytes: %s" % (len(payload), e)
    return answer(s)

def run():
    if case == "random":
        return send_then_answer(os.urandom(256 * 1024))
    if case == "huge":
        # Beyond the request limit (twice the 4 MiB state, plus the envelope), one line.
        return send_then_answer(b'{"version":1,"command":"poststop","state":"' + b"A" * (24 << 20) + b'"}\n')
    if case == "nul":
        return send_then_answer(b"\0" * 4096)
    if case == "wrong":
        out = []
        for payload in (b'{"version":2,"command":"status"}', b'{"version":1,"command":"create-runtime","state":"{}"}',
                        b'{"version":1,"command":"status","command":"gc"}', b"[]", b"{" * 100000):
            out.append(send_then_answer(payload))
        return " | ".join(out)
    if case == "half":
        s = connect()
        s.sendall(b'{"version":1,"command":"sta')
        s.close()
        return "closed half-way"
    if case == "many":
        socks = [connect() for _ in range(200)]
        for s in socks:
            s.close()
        return "200 connections opened and closed"
    if case == "stall":
        socks = [connect() for _ in range(int(sys.argv[3]))]
        for s in socks:
            s.sendall(b'{"version":1,"command":"sta')
        time.sleep(float(sys.argv[4]))
        for s in socks:
            s.close()
        return "%d connections stalled, then closed" % len(socks)
    return "unknown case"

try:
    print("%s: %s" % (case, run()))
except OSError as e:
    print("%s: %s" % (case, e))
PY
)

garbage() {
  local since case out rc start stall i
  since=$(date +%s)
  for case in random huge nul wrong half; do
    out=$(as_user "$USER2" python3 -c "$garbage_script" "$SOCKET" "$case" 2>&1) || fail "garbage $case: python3 failed: $out"
    log "$out"
  done
  # bob holds more stalled connections than the service serves for one user at once: the
  # others must not wait for him.
  # 12 s: beyond the 10 s the service gives a request to arrive.
  as_user "$USER2" python3 -c "$garbage_script" "$SOCKET" stall 12 12 >"$STATE/rl-stall.out" 2>&1 &
  stall=$!
  sleep 2
  start=$SECONDS
  rc=0
  out=$(as_user "$USER1" timeout 30 "$USER_HOOK" status --json 2>&1) || rc=$?
  log "status --json as alice while bob stalls 12 connections: exit $rc after $((SECONDS - start)) s"
  ((rc == 0)) || fail "status --json as alice failed while bob stalled the service ($rc after $((SECONDS - start)) s): $(tail -n 1 <<<"$out")"
  wait "$stall" || true
  cat "$STATE/rl-stall.out"
  out=$(as_user "$USER2" python3 -c "$garbage_script" "$SOCKET" many 2>&1) || fail "garbage many: python3 failed: $out"
  log "$out"

  # bob's own flood may keep his requests refused until the service has drained it (at most
  # 8 of one user's at once): then he is served again.
  start=$SECONDS
  for ((i = 1; i <= 20; i++)); do
    rc=0
    out=$(as_user "$USER2" "$USER_HOOK" status --json 2>&1) || rc=$?
    ((rc == 0)) && break
    sleep 1
  done
  log "status --json as bob after the garbage: exit $rc at try $i, $((SECONDS - start)) s: $out"
  if ((rc != 0)) || ! jq -e '.containers == []' <<<"$out" >/dev/null; then
    fail "status --json as bob after the garbage: exit $rc after $((SECONDS - start)) s: $(tail -n 1 <<<"$out")"
  fi
  systemctl is-active -q "${UNITS[0]}" || fail "${UNITS[0]} is $(systemctl is-active "${UNITS[0]}")"
  out=$(journalctl -b -q -o cat -u "${UNITS[1]}" --since "@$since" 2>/dev/null | grep -E 'code=(dumped|killed)|status=[0-9]+/[A-Z]|Failed with result|core dump' || true)
  [[ -z $out ]] || fail "the service died on garbage: $(head -n 1 <<<"$out")"
  journalctl -b -q -o short-monotonic -u "${UNITS[1]}" --since "@$since" 2>/dev/null |
    grep -v 'document is empty\|Broken pipe\|requests in progress' | tail -n 30 | sed 's/^/service: /' || true
  [[ ! -e $STATE/rl-kept.enforced ]] || expect_still_enforced "after the garbage" "$(cid rl-kept)"
}

rm_f_releases() {
  local id i left links
  id=$(cid rl-kept)
  if [[ ! -e $STATE/rl-kept.enforced ]]; then
    fail "rl-rm: alice has no enforced container to remove (the bob scenario did not start one)"
    [[ -z $id ]] || run_logged "${PODMAN[@]}" rm -f -t 0 "$id" >/dev/null || true
    return 0
  fi
  run_logged "${PODMAN[@]}" rm -f -t 0 "$id" >/dev/null || fail "rl-rm: podman rm -f failed"
  for ((i = 0; i < 30; i++)); do
    left=$(owned_by "$UID1")
    links=$(hook_links)
    [[ -z $left && $links == "$(cat "$STATE/rl-kept.links")" ]] && return 0
    sleep 0.5
  done
  [[ -z $left ]] || fail "rl-rm: root's status --json still lists alice's: $(tr '\n' ' ' <<<"$left")"
  [[ $links == "$(cat "$STATE/rl-kept.links")" ]] || fail "rl-rm: $links links of the hook, $(cat "$STATE/rl-kept.links") before the container"
}

scenario "rootless podman (alice, pasta, systemd cgroups), jail.block-host=true: 169.254.1.2, host v4/v6, metadata refused with EPERM (TCP, UDP); own loopback and DNS to 169.254.1.1:53 work; released" rootless_enforced
scenario "rootless podman, no annotation (control): 169.254.1.2, host v4/v6, metadata and DNS reached" rootless_control
scenario "rootless podman with the attach service stopped: the enforced container is refused with the hook's line, its command never runs" service_stopped
scenario "rootless podman: bob neither sees (status --json), stops (poststop) nor unprotects (gc) alice's running enforced container" other_user_isolation
scenario "the attach service survives garbage, oversized, half-closed and stalled requests from a user, serves another user meanwhile, and still answers status" garbage
scenario "rootless podman rm -f of an enforced container releases it (nothing of alice's in root's status --json)" rm_f_releases
