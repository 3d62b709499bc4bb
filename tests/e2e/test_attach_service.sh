#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2317  # sh -c programs single-quoted; helpers run via e2e_check
#
# The attach service (`oci-jail-hook serve`) with synthetic rootless containers, on a host
# without systemd: a process of an unprivileged uid U in a user namespace U made (what
# rootless podman's container is), in a cgroup under /user.slice/user-U.slice/user@U.service
# of the isolated view that belongs to U (what systemd delegates), and the installed hook
# run as U inside a user namespace, as rootless podman runs it. The service runs in the fake
# host's network namespace with an admin config of the test (user-max-containers = 2, and
# fail-open = true, which excuses none of the refusals below).
#   - U's create-runtime goes through the service: the container's cgroup is enforced
#     (TCP and UDP to the fake host refused with EPERM, nothing arrives; a control from an
#     unenforced cgroup arrives), `status --json` shows owner_uid U, as root and as U;
#   - U cannot detach the programs (bpftool, also as root of a user namespace) nor remove
#     the pins;
#   - another uid V sees none of it (status), cannot release it (poststop with U's state)
#     nor collect it (gc): U's container stays enforced;
#   - refused, each with its line: a cgroup outside U's delegated tree, a cgroup shared
#     with another process of U, a container process in V's user namespace, a third
#     container beyond user-max-containers, a request without a pidfd, root as a client;
#   - no service at the socket: the hook refuses with the line docs/rootless.md shows;
#   - garbage, oversized and half-sent requests, and extra descriptors, leave the service
#     serving;
#   - U's poststop releases the container once its process is gone: nothing is left.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

command -v setpriv >/dev/null || e2e_skip "setpriv not installed (util-linux)"
PY=$(command -v /usr/bin/python3 python3 | head -n 1) || e2e_skip "python3 not installed"
h_synthetic_view "$@"
[[ $(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0) -gt 0 ]] ||
  e2e_skip "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)"

# Uids no account uses: the service needs no passwd entry, only the kernel's credentials.
U=$((3100000 + $$ % 100000))
V=$((U + 1))
PORT=18090
SOCK=$W/run/attach.sock
chmod 711 "$W"
mkdir -m 755 "$W/run"

as_uid() {  # as_uid UID COMMAND... — COMMAND with that uid and gid and no groups
  local uid=$1
  shift
  setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}
# as_rootless_hook UID ARGS... — the installed hook as rootless podman runs it: root of a
# user namespace that UID made.
as_rootless_hook() {
  local uid=$1
  shift
  as_uid "$uid" unshare --user --map-root-user -- "$HOOK" --socket "$SOCK" "$@"
}

# The service, with its own admin config (root-owned, as load_admin_config requires).
# fail-open is on: it must excuse neither a refused check nor a user's limit.
printf 'user-max-containers = 2\nfail-open = true\n' >"$W/admin.conf"
nsenter --net="$E2E_HOST_NETNS" -- "$HOOK" --config "$W/admin.conf" --pin-dir "$PIN_DIR" \
  --socket "$SOCK" serve 2>"$W/logs/serve.log" &
SERVE=$!
e2e_defer "kill $SERVE 2>/dev/null || true"
h_wait_until 10 test -S "$SOCK" >/dev/null || e2e_die "serve did not listen: $(cat "$W/logs/serve.log")"

DELEGATED=$H_CG2/user.slice/user-$U.slice/user@$U.service
mkdir -p "$DELEGATED"
e2e_defer "e2e_remove_cgroup_tree '$H_CG2/user.slice'"

# rootless_container NAME CGROUP-DIR [OWNER-UID] — a process of OWNER-UID (default U) in
# a user namespace it made, in CGROUP-DIR (made and given to U when missing), with a bundle
# U owns; sets CT_PID and CT_BUNDLE.
rootless_container() {
  local name=$1 cg=$2 owner=${3:-$U}
  if [[ ! -d $cg ]]; then
    mkdir -p "$cg"
    chown "$U" "$cg"
  fi
  # The inner sh moves itself, then becomes the process (not a job of this shell, whose
  # death bash would report).
  CT_PID=$(sh -c 'cg=$1; shift
    sh -c '\''echo $$ >"$0/cgroup.procs" && exec "$@"'\'' "$cg" "$@" >/dev/null 2>&1 </dev/null &
    echo $!' sh "$cg" setpriv --reuid="$owner" --regid="$owner" --clear-groups -- \
    unshare --user --map-root-user -- sleep 300)
  e2e_defer "kill $CT_PID 2>/dev/null || true"
  # Until unshare has made the namespace, the process is not yet the container's.
  h_wait_until 5 sh -c '[ "$(readlink /proc/$1/ns/user)" != "$(readlink /proc/self/ns/user)" ]' \
    sh "$CT_PID" >/dev/null || e2e_die "$name: no user namespace for $CT_PID"
  CT_BUNDLE=$W/bundle-$name
  h_bundle "$CT_BUNDLE"
  chown -R "$U" "$CT_BUNDLE"
  # As podman keeps it: only the user may enter (the service reads it with
  # CAP_DAC_READ_SEARCH, and only files the user owns).
  chmod 700 "$CT_BUNDLE"
}

# create NAME [UID] — U's (or UID's) rootless create-runtime for the last container; the
# hook's stderr in $W/logs/NAME.err; returns its status.
create() {
  h_state "$1" "$CT_PID" "$CT_BUNDLE" >"$W/$1.state"
  as_rootless_hook "${2:-$U}" create-runtime <"$W/$1.state" 2>"$W/logs/$1.err"
}
refused_with() {  # refused_with NAME TEXT — create NAME fails, saying TEXT
  if create "$1"; then
    e2e_log "$1: create-runtime succeeded"
    return 1
  fi
  grep -qF -- "$2" "$W/logs/$1.err" || {
    e2e_log "$1: $(cat "$W/logs/$1.err")"
    return 1
  }
}

owner_of() {  # owner_of ID [status args...] — owner_uid of ID in that status --json
  local id=$1
  shift
  "$@" status --json | jq -r --arg id "$id" '[.containers[] | select(.id == $id)][0].owner_uid'
}
listed_by() {  # listed_by UID ID — does UID's own status (through the service) list ID?
  as_uid "$1" "$HOOK" --socket "$SOCK" status --json |
    jq -e --arg id "$2" 'any(.containers[]; .id == $id)' >/dev/null
}

e2e_listen "$E2E_HOST_NETNS" tcp "$E2E_HOST_V4" "$PORT"
TCP_LOG=$E2E_LISTEN_LOG
e2e_listen "$E2E_HOST_NETNS" udp "$E2E_HOST_V4" "$PORT"
UDP_LOG=$E2E_LISTEN_LOG
# probe CGROUP-DIR PROTO TAG — a fresh probe process in CGROUP-DIR and the container netns.
probe() {
  h_probe_from "$E2E_CT_NETNS" "$1" connect "$2" "$E2E_HOST_V4" "$PORT" "$3"
}
blocked() {  # blocked CGROUP-DIR TAG — TCP and UDP refused, neither arrived
  local rc_tcp=0 rc_udp=0
  probe "$1" tcp "$2-tcp" || rc_tcp=$?
  probe "$1" udp "$2-udp" || rc_udp=$?
  sleep 0.2
  ((rc_tcp == 1 && rc_udp == 1)) && ! e2e_logged "$TCP_LOG" "$2-tcp" &&
    ! e2e_logged "$UDP_LOG" "$2-udp"
}

# ---------------------------------------------------------------------------------------
ID=ojh-rl-$$
CT=$DELEGATED/user.slice/libpod-$ID.scope
rootless_container "$ID" "$CT"
ID_PID=$CT_PID
ID_BUNDLE=$CT_BUNDLE
if create "$ID"; then
  e2e_pass "U's create-runtime through the service succeeds"
else
  e2e_fail "U's create-runtime through the service succeeds: $(cat "$W/logs/$ID.err")"
fi
e2e_check "U's container is refused the fake host (TCP, UDP: EPERM, nothing arrives)" \
  blocked "$CT" enforced
mkdir "$H_CG2/ojh-control"
e2e_defer "e2e_remove_cgroup_tree '$H_CG2/ojh-control'"
probe "$H_CG2/ojh-control" tcp control-tcp || true
sleep 0.2
e2e_expect_arrival "$TCP_LOG" control-tcp yes "control: a probe from an unenforced cgroup"
e2e_check "root's status --json: owner_uid is U" \
  test "$(owner_of "$ID" h_hook)" == "$U"
e2e_check "U's status --json (through the service) lists it" listed_by "$U" "$ID"

# U owns the cgroup but not the programs: the links are pinned in root's bpffs directory
# and detaching a cgroup program needs CAP_NET_ADMIN of the initial user namespace.
connect4_prog=$(bpftool -j cgroup show "$CT" | jq -r '[.[] | select(.attach_type == "cgroup_inet4_connect")][0].id')
as_uid "$U" bpftool cgroup detach "$CT" cgroup_inet4_connect id "$connect4_prog" >/dev/null 2>&1 || true
as_uid "$U" unshare --user --map-root-user -- \
  bpftool cgroup detach "$CT" cgroup_inet4_connect id "$connect4_prog" >/dev/null 2>&1 || true
as_uid "$U" rm -rf "$PIN_DIR" >/dev/null 2>&1 || true
e2e_check "U cannot detach the programs nor unpin them: still enforced" blocked "$CT" after-detach
e2e_check "the cgroup still runs the hook's programs" \
  test "$(h_cgroup_prog_count "$CT")" == "$(e2e_hook_program_count)"

# ---------------------------------------------------------------------------------------
e2e_check "V's status --json does not list U's container" eval '! listed_by "$V" "$ID"'
stopped_state=$(jq -c '.status = "stopped" | del(.pid)' "$W/$ID.state")
as_uid "$V" "$HOOK" --socket "$SOCK" poststop <<<"$stopped_state" >/dev/null 2>&1 || true
as_rootless_hook "$V" poststop <<<"$stopped_state" >/dev/null 2>&1 || true
as_uid "$V" "$HOOK" --socket "$SOCK" gc >/dev/null 2>&1 || true
e2e_check "after V's poststop and gc, U's container is still enforced" blocked "$CT" after-v
e2e_check "and still listed as U's" test "$(owner_of "$ID" h_hook)" == "$U"

# ---------------------------------------------------------------------------------------
rootless_container outside "$H_CG2/ojh-outside-$$"
e2e_defer "e2e_remove_cgroup_tree '$H_CG2/ojh-outside-$$'"
e2e_check "refused: a cgroup outside U's delegated tree" \
  refused_with outside "is not inside the cgroup tree systemd delegates to uid $U"
rootless_container shared "$DELEGATED/shared.scope"
SHARED_PID=$CT_PID
as_uid "$U" sleep 300 &
OTHER=$!
e2e_defer "kill $OTHER 2>/dev/null || true"
echo "$OTHER" >"$DELEGATED/shared.scope/cgroup.procs"
CT_PID=$SHARED_PID
e2e_check "refused: a cgroup shared with another process of U" \
  refused_with shared "also holds process $OTHER"
rootless_container foreign "$DELEGATED/foreign.scope" "$V"
e2e_check "refused: a process in another uid's user namespace" \
  refused_with foreign "is in a user namespace of uid $V, not of the requesting uid $U"
rootless_container second "$DELEGATED/second.scope"
e2e_check "a second container of U is enforced" create second
rootless_container third "$DELEGATED/third.scope"
e2e_check "refused: a third one beyond user-max-containers = 2 (fail-open or not)" \
  refused_with third "user-max-containers = 2"

# send_raw UID PYTHON-BODY — a client written in python (as UID): sock is connected.
send_raw() {
  as_uid "$1" "$PY" -c 'import os, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(30)
sock.connect(sys.argv[1])
'"$2"'
' "$SOCK"
}
reply_of() { jq -r "$1" <<<"$2"; }
# The state of the "second" container, re-sent without a pidfd.
out=$(as_uid "$U" "$PY" -c 'import json, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(30)
sock.connect(sys.argv[1])
sock.sendall(json.dumps({"version": 1, "command": "create-runtime",
                         "state": open(sys.argv[2]).read()}).encode())
sock.shutdown(socket.SHUT_WR)
print(sock.makefile().read())' "$SOCK" "$W/second.state")
e2e_check "refused: a create-runtime without a pidfd" \
  eval '[[ $(reply_of .status "$out") == 1 && $(reply_of .stderr "$out") == *"carries no pidfd"* ]]'
out=$("$PY" -c 'import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
sock.sendall(b"{\"version\":1,\"command\":\"gc\"}")
sock.shutdown(socket.SHUT_WR)
print(sock.makefile().read())' "$SOCK")
e2e_check "refused: root as a client" \
  eval '[[ $(reply_of .stderr "$out") == *"root runs oci-jail-hook itself"* ]]'

# ---------------------------------------------------------------------------------------
for body in \
  'sock.sendall(os.urandom(65536)); sock.shutdown(socket.SHUT_WR); sock.recv(1 << 20)' \
  'sock.sendall(b"{\"version\":1,\"command\":\"status\",\"json\":" + b" " * (9 << 20) + b"true}")' \
  'sock.sendall(b"{\"version\":1,\"comm")' \
  'sock.sendall(b"[" * 100000); sock.shutdown(socket.SHUT_WR); sock.recv(1 << 20)' \
  'sock.sendall(b"{\"version\":2,\"command\":\"gc\"}"); sock.shutdown(socket.SHUT_WR); sock.recv(1 << 20)' \
  'fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
socket.send_fds(sock, [b"{"], fds); sock.shutdown(socket.SHUT_WR); sock.recv(1 << 20)'; do
  send_raw "$U" "$body" >/dev/null 2>&1 || true
done
e2e_check "after garbage, oversized and half-sent requests the service still answers U" \
  listed_by "$U" "$ID"
e2e_check "and still runs" kill -0 "$SERVE"

# ---------------------------------------------------------------------------------------
SOCK_SAVED=$SOCK
SOCK=$W/run/none.sock
CT_PID=$ID_PID
CT_BUNDLE=$ID_BUNDLE
e2e_check "no service: the hook refuses with the documented line" \
  refused_with no-service "the attach service is not running"
SOCK=$SOCK_SAVED

kill "$ID_PID"
h_wait_until 5 eval '! kill -0 '"$ID_PID"' 2>/dev/null' >/dev/null || true
as_rootless_hook "$U" poststop <<<"$stopped_state" 2>"$W/logs/poststop.err" ||
  e2e_fail "U's poststop: $(cat "$W/logs/poststop.err")"
e2e_check "U's poststop released the container" \
  test "$(owner_of "$ID" h_hook)" == null

e2e_finish
