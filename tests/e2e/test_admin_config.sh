#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The admin config file and the failure modes it governs, with the installed hook and
# synthetic createRuntime states (no runtime needed): a config writable by others is
# refused; fail-open lets an environment failure through (loudly) but never a policy
# mistake; what annotation-exceptions = false and enforce-all = true take away from authors
# (test_admin_policy.sh shows the same with real containers and traffic); and the hook
# asks the attach service inside a user namespace (rootless podman), also for a container without
# annotations where the admin config says enforce-all = true.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

e2e_require_commands jq unshare
e2e_hook_view "$@"

# The "container": a sleeping process in a cgroup of its own inside the isolated view.
h_bundle "$W/bundle"
h_sleeper ctr
SLEEPER=$H_PID

state() { h_state "$1" "$SLEEPER" "$W/bundle" "${2:-}"; }  # ID [ANNOTATIONS-JSON]

config() {  # NAME MODE TEXT — a config file owned by root
  local f=$E2E_RUN_DIR/$1.conf
  printf '%s\n' "$3" >"$f"
  chmod "$2" "$f"
  echo "$f"
}

run() {  # CONFIG STATE [EXTRA HOOK ARGS...] — sets RC and ERR
  local conf=$1 st=$2
  shift 2
  RC=0
  ERR=$("$HOOK" --config "$conf" "$@" create-runtime <<<"$st" 2>&1 >/dev/null) || RC=$?
}

expect() {  # WHAT WANT-RC WANT-STDERR-SUBSTRING
  if [[ $RC == "$2" && $ERR == *"$3"* ]]; then
    e2e_pass "$1"
  else
    e2e_fail "$1: exit $RC, stderr '$ERR' (want exit $2 and '$3')"
  fi
}

# 1. A config others can write is refused: it would hand them every container.
run "$(config writable 0664 'fail-open = true')" "$(state c-writable)"
expect "group-writable config is refused" 1 "not writable by group or others"
run "$(config bad 0644 'fail-open = maybe')" "$(state c-bad)"
expect "bad config value names key and expectation" 1 \
  'fail-open="maybe": expected "true" or "false"'
run "$E2E_RUN_DIR/missing.conf" "$(state c-missing)"
expect "an explicit --config that does not exist is an error" 1 "No such file"

# 2. fail-open: an environment failure (here: a pin directory that cannot exist) lets the
#    container run, with a loud line; without it the hook fails closed.
BROKEN_PIN_DIR=/proc/ojh-no-such-dir/pins
run "$(config closed 0644 'fail-open = false')" "$(state c-closed)" --pin-dir "$BROKEN_PIN_DIR"
expect "fail-closed by default on an environment failure" 1 "container c-closed:"
run "$(config open 0644 'fail-open = true')" "$(state c-open)" --pin-dir "$BROKEN_PIN_DIR"
expect "fail-open lets it through, loudly" 0 "FAIL-OPEN (admin config): the container runs UNPROTECTED"
run "$(config open2 0644 'fail-open = true')" \
  "$(state c-typo '{"jail.block-host":"true","jail.block-host.mode":"block"}')"
expect "fail-open never excuses a policy mistake" 1 'jail.block-host.mode="block"'
run "$(config pindir 0644 "pin-dir = $BROKEN_PIN_DIR")" "$(state c-pindir)"
expect "pin-dir comes from the config" 1 "/proc/ojh-no-such-dir"

run "$(config noexc 0644 'annotation-exceptions = false')" \
  "$(state c-noexc '{"jail.block-host":"true","jail.block-host.allow":"tcp:127.0.0.1:80"}')"
expect "annotation-exceptions = false refuses jail.block-host.allow" 1 \
  "annotation jail.block-host.allow is not permitted on this host"

# 3. What the admin takes away from annotation authors. A refusal is a policy decision, so
#    fail-open never excuses it; what is not refused is enforced (then released).
NOT_PERMITTED="is not permitted on this host (admin config:"
enforced() {  # WHAT ID CONFIG — the last run exited 0 and ID is pinned; releases it
  if [[ $RC == 0 && -n $(e2e_pin_entries "$PIN_DIR" "$2") ]]; then
    e2e_pass "$1"
  else
    e2e_fail "$1: exit $RC, stderr '$ERR', pinned: $([[ -n $(e2e_pin_entries "$PIN_DIR" "$2") ]] &&
      echo yes || echo no) (want exit 0, pinned)"
  fi
  "$HOOK" --config "$3" poststop <<<"$(state "$2")" >/dev/null 2>&1 ||
    e2e_fail "$1: poststop failed"
}

# A refusal that did not happen must not leave the cgroup enforced for the cases after it.
refused() {  # WHAT WANT-STDERR-SUBSTRING ID CONFIG
  expect "$1" 1 "$2"
  if [[ $RC == 0 ]]; then "$HOOK" --config "$4" poststop <<<"$(state "$3")" >/dev/null 2>&1 || true; fi
}

NOEXC=$(config noexc-modes 0644 'annotation-exceptions = false')
run "$NOEXC" "$(state c-noexc-audit '{"jail.block-host":"true","jail.block-host.mode":"audit"}')"
refused "annotation-exceptions = false refuses jail.block-host.mode=audit" \
  "container c-noexc-audit: annotation jail.block-host.mode=audit $NOT_PERMITTED annotation-exceptions = false)" \
  c-noexc-audit "$NOEXC"
run "$(config noexc-open 0644 $'annotation-exceptions = false\nfail-open = true')" \
  "$(state c-noexc-open '{"jail.block-host":"true","jail.block-host.mode":"audit"}')" \
  --pin-dir "$BROKEN_PIN_DIR"
expect "fail-open does not excuse the audit refusal" 1 "mode=audit $NOT_PERMITTED"
run "$NOEXC" "$(state c-noexc-enforce '{"jail.block-host":"true","jail.block-host.mode":"enforce",
  "jail.block-host.dns":"false","jail.block-host.cidrs":"private"}')"
enforced "annotation-exceptions = false accepts what only strengthens (mode=enforce, dns=false, cidrs)" \
  c-noexc-enforce "$NOEXC"

ALL=$(config enforce-all 0644 'enforce-all = true')
run "$ALL" "$(state c-all-none '{}')"
enforced "enforce-all = true enforces a container without annotations" c-all-none "$ALL"
run "$ALL" "$(state c-all-other '{"io.example/team":"blue"}')"
enforced "enforce-all = true enforces a container with only others' annotations" c-all-other "$ALL"
run "$ALL" "$(state c-all-cidrs '{"jail.block-host.cidrs":"private"}')"
enforced "enforce-all = true: a policy key without the switch is enforced, not refused" \
  c-all-cidrs "$ALL"
run "$ALL" "$(state c-all-false '{"jail.block-host":"false"}')"
refused "enforce-all = true refuses jail.block-host=false" \
  "container c-all-false: annotation jail.block-host=false $NOT_PERMITTED enforce-all = true)" \
  c-all-false "$ALL"
run "$ALL" "$(state c-all-audit '{"jail.block-host":"true","jail.block-host.mode":"audit"}')"
refused "enforce-all = true refuses jail.block-host.mode=audit" \
  "container c-all-audit: annotation jail.block-host.mode=audit $NOT_PERMITTED enforce-all = true)" \
  c-all-audit "$ALL"
run "$ALL" "$(state c-all-typo '{"jail.block-host":"yes"}')"
expect "enforce-all = true: a mistyped switch is still an error" 1 \
  'annotation jail.block-host="yes" is invalid'
run "$(config all-open 0644 $'enforce-all = true\nfail-open = true')" \
  "$(state c-all-open '{"jail.block-host":"false"}')" --pin-dir "$BROKEN_PIN_DIR"
expect "fail-open does not excuse the enforce-all refusal" 1 "jail.block-host=false $NOT_PERMITTED"

# 4. A container that may hold CAP_NET_ADMIN, which the admin accepted, has every egress
#    packet judged (it could rewrite destinations in its own netns); status says which.
mkdir -p "$W/b-netadmin"
printf '{"process":{"capabilities":{"bounding":["CAP_NET_ADMIN"]}}}' >"$W/b-netadmin/config.json"
NETADMIN=$(config netadmin 0644 'allow-capabilities = CAP_NET_ADMIN')
judged() {  # ID BUNDLE — create-runtime, status --json's judge_all_egress, poststop
  local st rc=0 judge
  st=$(h_state "$1" "$SLEEPER" "$2")
  "$HOOK" --config "$NETADMIN" create-runtime <<<"$st" >/dev/null 2>&1 || rc=$?
  judge=$("$HOOK" --config "$NETADMIN" status --json |
    jq -r --arg id "$1" '.containers[] | select(.id == $id) | .judge_all_egress')
  "$HOOK" --config "$NETADMIN" status | grep -q "^$1: .*every egress packet judged" &&
    judge+=" (said)"
  "$HOOK" --config "$NETADMIN" poststop <<<"$st" >/dev/null 2>&1 || e2e_fail "$1: poststop failed"
  echo "$rc $judge"
}
e2e_check "accepted CAP_NET_ADMIN: enforced, every egress packet judged, and status says so" \
  test "$(judged c-netadmin "$W/b-netadmin")" = "0 true (said)"
e2e_check "without CAP_NET_ADMIN: enforced, status says judge_all_egress false" \
  test "$(judged c-plain "$W/bundle")" = "0 false"

run "$(config trusted-alone 0644 'trusted-nameservers = 10.88.0.1')" "$(state c-trusted)"
expect "trusted-nameservers without annotation-exceptions = false is a config error" 1 \
  "trusted-nameservers takes effect only with annotation-exceptions = false"
run "$(config trusted-bad 0644 $'annotation-exceptions = false\ntrusted-nameservers = 10.88.0.0/16')" \
  "$(state c-trusted-bad)"
expect "a bad trusted-nameservers entry names the key and the entry" 1 \
  'trusted-nameservers: entry "10.88.0.0/16"'

# 4. Inside a user namespace (what rootless podman gives its hooks) the hook asks the
#    attach service; with none at the socket it says so instead of failing somewhere in the
#    kernel (test_attach_service.sh runs a service).
NO_SERVICE=(--socket "$E2E_RUN_DIR/no-service.sock")
RC=0
ERR=$(unshare --user --map-root-user "$HOOK" --config "$(config userns 0644 '')" \
  "${NO_SERVICE[@]}" create-runtime <<<"$(state c-rootless)" 2>&1 >/dev/null) || RC=$?
expect "rootless (user namespace) without the attach service is refused with a pointer to the docs" 1 \
  "rootless: the attach service is not running"
# enforce-all reaches there too: the file's owner cannot be verified inside, but a setting
# that only sends more containers to the service is safe to take from it.
RC=0
ERR=$(unshare --user --map-root-user "$HOOK" --config "$ALL" "${NO_SERVICE[@]}" \
  create-runtime <<<"$(state c-rootless-all '{}')" 2>&1 >/dev/null) || RC=$?
expect "enforce-all = true: a container without annotations in a user namespace is refused" 1 \
  "container c-rootless-all: rootless: the attach service is not running"
RC=0
ERR=$(unshare --user --map-root-user "$HOOK" --config "$NOEXC" "${NO_SERVICE[@]}" \
  create-runtime <<<"$(state c-rootless-none '{}')" 2>&1 >/dev/null) || RC=$?
expect "without enforce-all a container without annotations in a user namespace runs" 0 ""

# Nothing was pinned for any of these containers.
if compgen -G "/sys/fs/bpf/oci-jail-hook/v1/containers/*" >/dev/null; then
  e2e_fail "pins were left: $(ls /sys/fs/bpf/oci-jail-hook/v1/containers)"
else
  e2e_pass "nothing pinned"
fi
e2e_finish
