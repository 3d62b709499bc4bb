#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016  # the deferred command expands when it runs
#
# Endurance: N create/stop cycles of a real runc container with the hook wired from
# hooks.d (runc run in the foreground: createRuntime, the container, destroy, poststop).
# Each container checks its own enforcement: it probes the fake host's loopback and exits 0
# only if the probe is blocked, so every cycle also proves the hook enforced. Afterwards
# nothing may have accumulated:
#   - no link runs the hook's programs and nothing is attached in the test's cgroup tree
#     (the system's cgroup link count, which other users of cgroup BPF change too, is
#     logged against its value before the test);
#   - no container pins, no staging leftovers; the shared objects are the one set;
#   - the system's ojh_ programs and maps: the count before the test plus that one set;
#   - no container cgroups left, runc lists nothing;
#   - status --json lists nothing; the rules4, rules6 and exception maps are empty, and the
#     per-cgroup policy storage is freed with the cgroups.
# Environment: OJH_CYCLES (default 1000; about 75 ms a cycle on a 2-core VM, so the default
# runs in well under two minutes); OJH_CYCLES_BUDGET, seconds (default 240): on a slower
# machine the loop stops early, with a note, before the next cycle would exceed it, so that
# a ctest run (TIMEOUT 300) still ends with its checks.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

e2e_runc_view "$@"
CYCLES=${OJH_CYCLES:-1000}
BUDGET_MS=$((${OJH_CYCLES_BUDGET:-240} * 1000))
PORT=18081
e2e_listen "$E2E_HOST_NETNS" tcp 127.0.0.1 "$PORT"

BASE_LINKS=$(h_cgroup_link_ids | jq length)
BASE_PROGS=$(h_ojh_ids prog)
BASE_MAPS=$(h_ojh_ids map)

# The container shares the fake host's network namespace: its loopback is the host's, and
# jail-probe exits 1 when the connect is blocked.
e2e_make_bundle cycle host true \
  "jail-probe connect tcp 127.0.0.1 $PORT >/dev/null 2>&1; test \$? = 1"
e2e_bundle_wire_hooks
e2e_defer 'for id in $(e2e_runc list -q 2>/dev/null); do e2e_runc delete -f "$id"; done'

failures=0
first_failure=
links_max=0
t_start=$(h_ms)
done_cycles=0
for ((i = 1; i <= CYCLES; i++)); do
  t0=$(h_ms)
  if ((i > 1 && t0 - t_start + (t0 - t_start) / (i - 1) > BUDGET_MS)); then
    e2e_log "NOTE: stopping after $((i - 1)) of $CYCLES cycles: the next one would exceed" \
      "the ${BUDGET_MS} ms budget (OJH_CYCLES_BUDGET)"
    break
  fi
  rc=0
  e2e_runc run --bundle "$E2E_BUNDLE" "cyc-$$-$i" </dev/null >"$E2E_RUN_DIR/cycle.out" 2>&1 ||
    rc=$?
  if ((rc != 0)); then
    failures=$((failures + 1))
    [[ -n $first_failure ]] ||
      first_failure="cycle $i: exit $rc: $(tail -n 3 "$E2E_RUN_DIR/cycle.out" | tr '\n' ' ')"
    e2e_runc delete -f "cyc-$$-$i" >/dev/null 2>&1 || true
  fi
  ((i == 1)) && e2e_log "first cycle: $(($(h_ms) - t0)) ms"
  done_cycles=$i
  # Between cycles nothing of a finished container may remain attached.
  if ((i % 50 == 0)); then
    n=$(h_links_of "$PIN_DIR" | wc -l)
    ((n > links_max)) && links_max=$n
    e2e_log "cycle $i: $(($(h_ms) - t_start)) ms, links of our programs now: $n"
  fi
done
elapsed=$(($(h_ms) - t_start))
e2e_log "$done_cycles cycles in $elapsed ms ($((elapsed / (done_cycles > 0 ? done_cycles : 1))) ms per cycle)"

if ((failures == 0)); then
  e2e_pass "$done_cycles cycles: every container ran with its probe to the host blocked"
else
  e2e_fail "$failures of $done_cycles cycles failed; first: $first_failure"
fi
e2e_check "no link of our programs outlived its cycle (max seen between cycles: $links_max)" \
  test "$links_max" = 0

n=$(h_links_of "$PIN_DIR" | wc -l)
e2e_check "no link runs the hook's programs (got $n)" test "$n" = 0
attached=$(h_view_attachments)
e2e_check "nothing attached in the test's cgroup tree ${attached:+(got ${attached//$'\n'/, })}" \
  test -z "$attached"
# System-wide counts include other users of cgroup BPF on this machine; the checks above
# are the ones that only see this test's links.
links_now=$(h_cgroup_link_ids | jq length)
e2e_log "system-wide cgroup links: $BASE_LINKS before, $links_now after"
left=$(h_leftover_pins "$PIN_DIR")
e2e_check "no container pins, no staging leftovers ${left:+(got ${left//$'\n'/ })}" test -z "$left"
objects=$(h_object_pins "$PIN_DIR")
want=$(($(e2e_hook_program_count) + 8)) # the programs (5, or 7 with AF_UNIX) and 8 maps
e2e_check "one shared set of objects ($want pins, got $objects)" test "$objects" = "$want"
leaked=$(h_leaked_objects "$BASE_PROGS" "$BASE_MAPS" "$PIN_DIR")
e2e_check "the system's ojh_ programs and maps: the count before plus the one shared set \
${leaked:+(extra: ${leaked//$'\n'/, })}" test -z "$leaked"
cgs=$(find "$H_CG2" -mindepth 1 -type d -name "cyc-$$-*" | head -n 5 || true)
e2e_check "no container cgroup left ${cgs:+(got ${cgs//$'\n'/ })}" test -z "$cgs"
containers=$(e2e_runc list -q | head -n 5 || true)
e2e_check "runc lists no container ${containers:+(got ${containers//$'\n'/ })}" \
  test -z "$containers"
n=$(h_status "$HOOK" "$PIN_DIR" | jq '.containers | length')
e2e_check "status --json lists no container (got $n)" test "$n" = 0
maps="$(h_map_entries "$PIN_DIR" rules4)/$(h_map_entries "$PIN_DIR" rules6)/$(h_map_entries "$PIN_DIR" allow)"
e2e_check "rules4, rules6 and exception maps are empty (got $maps)" test "$maps" = 0/0/0
for ((i = 0; i < 50; i++)); do
  storage="$(h_map_entries "$PIN_DIR" policy)/$(h_map_entries "$PIN_DIR" counters)"
  [[ $storage == 0/0 ]] && break
  sleep 0.1
done
e2e_check "policy and counter storage freed with the cgroups (got $storage)" test "$storage" = 0/0
e2e_finish
