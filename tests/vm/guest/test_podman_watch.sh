#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Host addresses that appear after a container started (DHCP, a VPN, a bridge netavark
# makes for the next container): the README's install enables oci-jail-hook-watch.service,
# which refreshes every enforced container's rules when the host's addresses change.
#   - the unit is active on a systemd host, as installed;
#   - an address added to the guest while an enforced container runs is refused to it
#     (a `podman exec` probe) within a few seconds; after `podman rm -f` all is released.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

UNIT=oci-jail-hook-watch.service
# Another documentation range (RFC 5737 TEST-NET-2), not on the guest before this test.
LATE=198.51.100.7

watch_unit_active() {
  if ! systemctl is-active -q "$UNIT"; then
    fail "$UNIT is $(systemctl is-active "$UNIT"): $(journalctl -b -q -o cat -u "$UNIT" -t oci-jail-hook | tail -n 1)"
    systemctl status --no-pager "$UNIT" || true
  fi
}

late_address_refused() {
  local before id i out
  before=$(hook_state)
  detached_run late "${ENFORCE[@]}" || return 0
  id=$(cid late)
  run_logged ip addr add "$LATE/32" dev ojh0
  # Several tries: the refresh follows the netlink event, but a probe may come first.
  for ((i = 0; i < 10; i++)); do
    out=$(podman exec "$id" jail-probe connect tcp "$LATE" "$PORT" "late/tcp/$LATE/$i" 2>&1 || true)
    log "try $i: $out"
    [[ $out == *": blocked EPERM"* ]] && break
    sleep 1
  done
  [[ $out == *": blocked EPERM"* ]] ||
    fail "late: $LATE, added after the container started, still reachable 10 s later: $out"
  run_logged ip addr del "$LATE/32" dev ojh0
  run_logged podman rm -f -t 0 "$id" >/dev/null || fail "late: podman rm -f failed"
  expect_released late "$before"
}

scenario "oci-jail-hook-watch.service, enabled as the README says, is active" watch_unit_active
scenario "an address added to the host after an enforced container started is refused to it (watch refresh)" late_address_refused
