#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the whole project with AddressSanitizer (+ LeakSanitizer) and UBSan
# (cmake -DOJH_SANITIZE=ON, cmake/Sanitizers.cmake) into ./build-asan and runs the unit and
# bpf tiers against it. Any sanitizer report aborts the test that triggered it.
#
#   scripts/sanitize.sh [CTEST_ARGS...]
#   OJH_SANITIZE_E2E=1      also the e2e tier: it installs this build's (sanitized) hook into
#                           build-asan/e2e-prefix and runs real containers through it (root).
#                           Hooks started by a runtime get only the environment their hooks.d
#                           entry names, so there the sanitizers run with their defaults
#                           (leak detection on; UBSan aborts as it is built without recovery).
#   SANITIZE_BUILD_DIR=DIR  default ./build-asan
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZE_BUILD_DIR:-$top/build-asan}

cmake -S "$top" -B "$build" -DOJH_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"

# Leaks are errors; abort (not exit) so that the failure shows as a signal with a core.
# UBSan is built without recovery (-fno-sanitize-recover=all); these also make it print stacks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
ctest --test-dir "$build" --output-on-failure -L 'unit|bpf' "$@" || status=1
if [[ "${OJH_SANITIZE_E2E:-0}" == 1 ]]; then
  # e2e_faults runs the hook under strace, and LeakSanitizer cannot work in a traced process
  # (it ptrace()s the threads itself): that one test runs without leak detection.
  ctest --test-dir "$build" --output-on-failure -L e2e -E '^e2e_faults$' "$@" || status=1
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    ctest --test-dir "$build" --output-on-failure -R '^e2e_faults$' "$@" || status=1
fi
exit "$status"
