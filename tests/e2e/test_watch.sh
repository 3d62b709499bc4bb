#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317  # watching and blocked are called through h_wait_until and eval
#
# `oci-jail-hook watch` makes the block follow the host's addresses, with no admin command.
# A synthetic container (a sleeping process in a test cgroup) is enforced from the fake
# host's network namespace, where the watcher runs too:
#   1. status --json says "address_watch": false before the watcher runs, true after.
#   2. An IPv4 and an IPv6 address added to the fake host afterwards are refused to the
#      running container (EPERM) within a second; the time it took is printed.
#   3. Once the fake host drops them, they are no longer refused.
#   4. A second watcher for the same pin directory is refused with one line.
#   5. Once the watcher is stopped, status says the addresses are not watched.
# The watcher runs with the capability bounding set its systemd unit gives it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

h_synthetic_view "$@"
PORT=18095

watching() { h_hook status --json | jq -e '.address_watch' >/dev/null; }
# blocked ADDR — a TCP connect from the container's cgroup gets EPERM (the probe's exit 1).
blocked() {
  local rc=0
  h_probe_from "$E2E_CT_NETNS" "$H_CG2/c1" connect tcp "$1" "$PORT" || rc=$?
  [[ $rc == 1 ]]
}

h_bundle "$W/bundle"
h_enforced c1 "$W/bundle"

e2e_check "without a watcher, status says the addresses are not watched" eval '! watching'
e2e_check "the new addresses are not refused yet (the probe can tell)" eval "! blocked $E2E_NEW_V4"

# With the capability bounding set of the installed unit (oci-jail-hook-watch.service).
nsenter --net="$E2E_HOST_NETNS" -- setpriv --bounding-set -all,+bpf,+net_admin,+sys_admin -- \
  "$HOOK" --pin-dir "$PIN_DIR" watch 2>"$W/watch.err" &
WATCH=$!
e2e_defer "kill $WATCH 2>/dev/null; wait $WATCH 2>/dev/null || true"
e2e_check "status says the watcher runs" h_wait_until 10 watching

second=$(timeout 10 nsenter --net="$E2E_HOST_NETNS" -- "$HOOK" --pin-dir "$PIN_DIR" watch 2>&1 || true)
e2e_check "a second watcher is refused: $second" \
  grep -q "another \`oci-jail-hook watch\` is running" <<<"$second"

for family in IPv4 IPv6; do
  addr=$E2E_NEW_V4
  [[ $family == IPv6 ]] && addr=$E2E_NEW_V6
  e2e_host_address add "$addr"
  if ms=$(h_wait_until 1 blocked "$addr"); then
    e2e_pass "an $family address added to the host is refused after ${ms} ms"
  else
    e2e_fail "$addr, added to the host, was not refused within a second"
  fi
done

e2e_host_address del "$E2E_NEW_V4"
e2e_host_address del "$E2E_NEW_V6"
e2e_check "an address the host dropped is no longer refused (v4)" \
  h_wait_until 1 eval "! blocked $E2E_NEW_V4"
e2e_check "an address the host dropped is no longer refused (v6)" \
  h_wait_until 1 eval "! blocked $E2E_NEW_V6"

kill "$WATCH"
wait "$WATCH" 2>/dev/null || true
e2e_check "once the watcher is gone, status says so" h_wait_until 5 eval '! watching'
e2e_check "the watcher logged nothing but its start: $(tr '\n' ' ' <"$W/watch.err")" \
  eval "! grep -v 'following host address changes' '$W/watch.err' | grep -q ."
e2e_finish
