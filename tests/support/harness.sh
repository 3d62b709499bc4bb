# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# What the shell test tiers (tests/e2e, tests/deploy) share: how a test reports, and what it
# undoes at exit. Nothing here knows a tier; each tier's lib.sh sources it and adds its own
# fixtures. Source it from a script that runs with `set -euo pipefail`.
#
# Reporting: "PASS: ..." / "FAIL: ..." a check, and a closing "<test>: N passed, N failed"
# line; the test exits 0 only when something passed and nothing failed. A test that lacks
# something it needs prints "SKIPPED: <test>: <reason>" and exits 77 (ctest's
# SKIP_RETURN_CODE); one whose setup fails prints "FAIL: <test>: setup: <reason>", exits 1.
#
# Cleanup: every command registered with ts_defer runs at exit, newest first, also when the
# test fails half way or is interrupted.

TS_TEST=$(basename "$0" .sh)
TS_PASSED=0
TS_FAILED=0
_TS_CLEANUP=()

ts_pass() {
  TS_PASSED=$((TS_PASSED + 1))
  printf 'PASS: %s\n' "$*"
}

ts_fail() {
  TS_FAILED=$((TS_FAILED + 1))
  printf 'FAIL: %s\n' "$*"
}

ts_check() {  # ts_check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ts_pass "$what"; else ts_fail "$what"; fi
}

ts_skip() {
  printf 'SKIPPED: %s: %s\n' "$TS_TEST" "$1"
  exit 77
}

ts_require() {  # ts_require COMMAND... — skips the test unless every COMMAND is installed
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || ts_skip "$tool not installed"
  done
}

# Aborts the test: something the checks depend on could not be set up.
ts_die() {
  printf 'FAIL: %s: setup: %s\n' "$TS_TEST" "$*"
  exit 1
}

# Prints the closing line and exits 0 when every check passed.
ts_finish() {
  printf '%s: %d passed, %d failed\n' "$TS_TEST" "$TS_PASSED" "$TS_FAILED"
  if ((TS_FAILED > 0 || TS_PASSED == 0)); then exit 1; fi
  exit 0
}

# Registers a command (one string, eval'ed) to run at exit; the newest runs first.
ts_defer() { _TS_CLEANUP+=("$1"); }

_ts_run_cleanup() {
  local rc=$? i
  set +e
  trap - EXIT INT TERM HUP
  for ((i = ${#_TS_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${_TS_CLEANUP[i]}" >/dev/null 2>&1 ||
      printf '%s: cleanup step failed: %s\n' "$TS_TEST" "${_TS_CLEANUP[i]}" >&2
  done
  _TS_CLEANUP=()
  exit "$rc"
}
trap _ts_run_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
