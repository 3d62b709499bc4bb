# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for the deployment tests (the same reporting conventions as tests/e2e/lib.sh):
# "PASS: ..." / "FAIL: ..." per check, a closing "<test>: N passed, N failed" line, exit 77
# with "SKIPPED: <test>: <reason>" when a tool is missing. Source it from a script running
# with `set -euo pipefail`. Everything registered with deploy_defer is undone at exit.

DEPLOY_TEST=$(basename "$0" .sh)
DEPLOY_PASSED=0
DEPLOY_FAILED=0
_DEPLOY_CLEANUP=()

deploy_pass() {
  DEPLOY_PASSED=$((DEPLOY_PASSED + 1))
  printf 'PASS: %s\n' "$*"
}

deploy_fail() {
  DEPLOY_FAILED=$((DEPLOY_FAILED + 1))
  printf 'FAIL: %s\n' "$*"
}

deploy_check() {  # deploy_check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then deploy_pass "$what"; else deploy_fail "$what"; fi
}

deploy_skip() {
  printf 'SKIPPED: %s: %s\n' "$DEPLOY_TEST" "$1"
  exit 77
}

# Aborts: something the checks depend on could not be set up.
deploy_die() {
  printf 'FAIL: %s: setup: %s\n' "$DEPLOY_TEST" "$*"
  exit 1
}

deploy_finish() {
  printf '%s: %d passed, %d failed\n' "$DEPLOY_TEST" "$DEPLOY_PASSED" "$DEPLOY_FAILED"
  if ((DEPLOY_FAILED > 0 || DEPLOY_PASSED == 0)); then exit 1; fi
  exit 0
}

deploy_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || deploy_skip "$tool not installed"
  done
}

# Registers a command (one string, eval'ed) to run at exit; the newest runs first.
deploy_defer() { _DEPLOY_CLEANUP+=("$1"); }

_deploy_cleanup() {
  local rc=$? i
  set +e
  trap - EXIT INT TERM HUP
  for ((i = ${#_DEPLOY_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${_DEPLOY_CLEANUP[i]}" >/dev/null 2>&1
  done
  exit "$rc"
}
trap _deploy_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Sets DEPLOY_TMP to a private temporary directory, removed at exit. (Not for $(...): a
# deploy_defer in a subshell would be lost.)
deploy_make_tmp() {
  DEPLOY_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ojh-deploy-$DEPLOY_TEST.XXXXXX") || deploy_die "mktemp"
  deploy_defer "rm -rf '$DEPLOY_TMP'"
}

# A python3 that has PyYAML (Debian: python3-yaml), or nothing.
deploy_python_with_yaml() {
  local candidate
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml, tomllib' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}
