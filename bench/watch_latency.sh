#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016  # the sh -c programs are single-quoted on purpose
#
# How long an address added to the host stays reachable from a running enforced container:
# from just before `ip addr add` to the first connect() of the container that gets EPERM.
# Side by side, in one run: `oci-jail-hook watch` (rtnetlink, a refresh in a child per burst)
# and the unit it replaced (`ip -o monitor address | while read; do oci-jail-hook refresh`).
#
#   sudo bench/watch_latency.sh [SAMPLES]      (default 10 per family and watcher)
# Environment as for the e2e tests: HOOK_PREFIX (the installed prefix, default
# build/e2e-prefix) and PROBE (jail-probe). Runs in the e2e tests' isolated view: a cgroup
# and bpffs of its own, the fake host and the container in network namespaces made here.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export HOOK_PREFIX=${HOOK_PREFIX:-$top/build/e2e-prefix}
export PROBE=${PROBE:-$top/build/tests/probe/jail-probe}
E2E_TEST=watch_latency
# shellcheck source=../tests/e2e/lib.sh
source "$top/tests/e2e/lib.sh"
# shellcheck source=../tests/e2e/hardening_lib.sh
source "$top/tests/e2e/hardening_lib.sh"

SAMPLES=${1:-10}
h_synthetic_view "$@"
PINS=$PIN_DIR
h_bundle "$W/bundle"
h_enforced c1 "$W/bundle"

# A connect() loop in the container's cgroup and netns: prints "ready", then, at the first
# EPERM, the wall clock in nanoseconds (connect() is judged before routing, so the
# container needs no route to the address).
cat >"$W/loop.py" <<'PY'
import errno, socket, sys, time
addr = sys.argv[1]
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
print("ready", flush=True)
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((addr, 9))
    except OSError as e:
        if e.errno == errno.EPERM:
            print(time.time_ns(), flush=True)
            sys.exit(0)
    finally:
        s.close()
    time.sleep(0.0005)
sys.exit(1)
PY

sample() {  # ADDR PREFIXLEN — one latency in ms, or "timeout"
  local addr=$1 len=$2 t0 t1 fifo=$W/fifo
  rm -f "$fifo"
  mkfifo "$fifo"
  nsenter --net="$E2E_CT_NETNS" -- sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh \
    "$H_CG2/c1" /usr/bin/python3 "$W/loop.py" "$addr" >"$fifo" &
  local loop=$! ready
  exec {fd}<"$fifo"
  read -r ready <&"$fd"
  [[ $ready == ready ]] || e2e_die "the connect loop did not start: $ready"
  t0=$(date +%s%N)
  if [[ $addr == *:* ]]; then
    ip -n "$E2E_HOST_NS" addr add "$addr/$len" dev vh nodad
  else
    ip -n "$E2E_HOST_NS" addr add "$addr/$len" dev vh
  fi
  if read -r t1 <&"$fd"; then echo $(((t1 - t0) / 1000000)); else echo timeout; fi
  exec {fd}<&-
  wait "$loop" || true
  ip -n "$E2E_HOST_NS" addr del "$addr/$len" dev vh
  sleep 0.3  # let the watcher drop the address before the next sample
}

stats() {  # "N N N ..." -> "median M ms, max X ms (n samples)"
  tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {
    if (NR == 0) { print "no sample"; exit }
    printf "median %d ms, max %d ms (%d samples)", a[int((NR + 1) / 2)], a[NR], NR }'
}

measure() {  # LABEL — runs SAMPLES v4 and v6 samples against whatever watcher is running
  local i v4=() v6=()
  for ((i = 0; i < SAMPLES; i++)); do
    v4+=("$(sample "10.200.7.$((10 + i))" 24)")
    v6+=("$(sample "fd00:200::7:$((10 + i))" 64)")
  done
  printf '| %s | IPv4: %s | IPv6: %s |\n' "$1" "$(echo "${v4[*]}" | stats)" \
    "$(echo "${v6[*]}" | stats)"
}

echo "| watcher | address added → first EPERM | |"
echo "|---|---|---|"
h_hook watch 2>"$W/watch.err" &
WATCH=$!
until h_hook status --json | jq -e .address_watch >/dev/null; do sleep 0.05; done
measure "oci-jail-hook watch"
kill "$WATCH"
wait "$WATCH" 2>/dev/null || true

nsenter --net="$E2E_HOST_NETNS" -- sh -c \
  'ip -o monitor address | while read -r _; do "$1" --pin-dir "$2" refresh >/dev/null; done' \
  sh "$HOOK" "$PINS" &
MONITOR=$!
sleep 0.5
measure "ip monitor + refresh per event (the previous example unit)"
pkill -P "$MONITOR" 2>/dev/null || true
kill "$MONITOR" 2>/dev/null || true
wait "$MONITOR" 2>/dev/null || true

e2e_finish >/dev/null
