#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Newcomer demo: installs dependencies, builds, installs the hook into build/e2e-prefix and
# runs a real busybox container under runc twice against a throw-away fake host: without
# the annotation it reaches the host's service, with jail.block-host=true it cannot.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
HOOK_PREFIX="$build/e2e-prefix" PROBE="$build/tests/probe/jail-probe" \
  exec "$top/tests/e2e/demo.sh"
