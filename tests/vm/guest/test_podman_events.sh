#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Denials in the journal (issue 14): the install enables oci-jail-hook-events.service, which
# follows the kernel's denial records and writes each to the journal with structured fields.
#   - the unit is active on a systemd host, as installed;
#   - a refused connect of an enforced podman container shows up in
#     `journalctl -u oci-jail-hook-events CONTAINER_ID=<id>` with its destination, and in
#     `oci-jail-hook events --json`; after `podman rm -f` its records are gone.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

UNIT=oci-jail-hook-events.service

events_unit_active() {
  if ! systemctl is-active -q "$UNIT"; then
    fail "$UNIT is $(systemctl is-active "$UNIT"): $(journalctl -b -q -o cat -u "$UNIT" | tail -n 1)"
    systemctl status --no-pager "$UNIT" || true
  fi
}

denial_in_journal() {
  local before id i out dest
  before=$(hook_state)
  detached_run events "${ENFORCE[@]}" || return 0
  id=$(cid events)
  dest=$METADATA  # refused by every policy, whatever the network
  out=$(podman exec "$id" jail-probe connect tcp "$dest" "$PORT" "events/tcp" 2>&1 || true)
  log "probe: $out"
  for ((i = 0; i < 10; i++)); do
    journalctl -q -o cat -u "$UNIT" CONTAINER_ID="$id" DEST="$dest:$PORT" | grep -q . && break
    sleep 1
  done
  journalctl -q -o verbose -u "$UNIT" CONTAINER_ID="$id" | tail -n 20
  journalctl -q -o cat -u "$UNIT" CONTAINER_ID="$id" OPERATION=connect4 DEST="$dest:$PORT" |
    grep -q "denied tcp $dest:$PORT connect4" ||
    fail "events: the refused connect to $dest:$PORT is not in the journal of $UNIT"
  "$HOOK" events --json --container "$id" | grep -q "\"port\":$PORT" ||
    fail "events: \`events --json --container\` does not show the refused connect"
  run_logged podman rm -f -t 0 "$id" >/dev/null || fail "events: podman rm -f failed"
  out=$("$HOOK" events --container "$id" 2>&1 || true)
  [[ $out == *"no enforced container"* ]] || fail "events: records left after rm: $out"
  expect_released events "$before"
}

scenario "oci-jail-hook-events.service, enabled as the README says, is active" events_unit_active
scenario "a refused connect is in the journal with its container and destination" denial_in_journal
