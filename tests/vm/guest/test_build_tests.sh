#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The project's own test tiers, as built in the guest's root file system (trixie's clang,
# libbpf and Catch2 3), run on the guest: the unit tier, and the bpf tier — the real
# programs loaded by the hook's code and judged with real sockets on trixie's kernel, in a
# cgroup the test makes. Reported as failures, not skipped, when the image was built
# without them (OJH_VM_BUILD_TESTING=OFF): CI must not lose a tier silently.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

BUILD=/usr/src/oci-jail-hook/build

# ctest_tier LABEL — the tier LABEL of the guest's build; a skip (77) fails too.
ctest_tier() {
  local label=$1 out
  if [[ ! -f $BUILD/CTestTestfile.cmake ]] || ! ctest --test-dir "$BUILD" -N -L "$label" | grep -q 'Total Tests: [1-9]'; then
    fail "no $label tests in the guest's build (image built with OJH_VM_BUILD_TESTING=OFF?)"
    return 0
  fi
  out=$STATE/ctest-$label.out
  run_logged ctest --test-dir "$BUILD" -L "$label" --output-on-failure >"$out" 2>&1 || true
  cat "$out"
  if grep -q '\*\*\*Skipped\|Not Run' "$out"; then
    fail "$label tier skipped: $(grep -m 1 -i 'skip' "$out")"
  elif ! grep -q '100% tests passed' "$out"; then
    fail "$label tier failed: $(grep -m 1 -E 'FAILED|failed' "$out")"
  fi
}

unit_tier() { ctest_tier unit; }
bpf_tier() { ctest_tier bpf; }

scenario "the guest's build (trixie's clang, libbpf and Catch2 3): unit tier passes" unit_tier
scenario "the guest's build: bpf tier (real programs, real sockets) passes on the guest's kernel" bpf_tier
