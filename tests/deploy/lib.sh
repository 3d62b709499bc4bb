# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for the deployment tests. Reporting (ts_pass, ts_fail, ts_check, ts_skip, ts_die,
# ts_finish), ts_require and cleanup at exit (ts_defer) are tests/support/harness.sh:
# "PASS: ..." / "FAIL: ..." per check, a closing "<test>: N passed, N failed" line, exit 77
# with "SKIPPED: <test>: <reason>" when a tool is missing. Source it from a script running
# with `set -euo pipefail`.

# shellcheck source=../support/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/harness.sh"

# Sets DEPLOY_TMP to a private temporary directory, removed at exit. (Not for $(...): a
# ts_defer in a subshell would be lost.)
deploy_make_tmp() {
  DEPLOY_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ojh-deploy-$TS_TEST.XXXXXX") || ts_die "mktemp"
  ts_defer "rm -rf '$DEPLOY_TMP'"
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
