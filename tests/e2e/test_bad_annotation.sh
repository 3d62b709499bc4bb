#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A jail.block-host value other than "true" or "false" must stop the container before its
# command runs (fail closed: never run it unprotected), with one line that names the
# annotation and the allowed values. The container's command would leave a marker file in a
# bind-mounted directory; the valid values are the control that the marker works.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_runc_view "$@"

run_case() {  # RUN ANNOTATION
  local run=$1 annotation=$2 id out
  id=ojh-ba-$$-$run
  out=$E2E_RUN_DIR/$run.out
  e2e_make_bundle "bad-$run" host "$annotation" "touch /markers/$run; echo container-ran"
  e2e_bundle_bind "$MARKERS" /markers
  e2e_bundle_wire_hooks
  if e2e_runc_run "$id" "$E2E_BUNDLE" "$out"; then echo 0; else echo 1; fi >"$out.rc"
}

expect_refused() {  # RUN ANNOTATION
  local run=$1 id=ojh-ba-$$-$1 out=$E2E_RUN_DIR/$1.out what="value '$2'" line
  run_case "$run" "$2"
  e2e_check "$what: runc run failed" grep -qx 1 "$out.rc"
  line=$(grep -F "oci-jail-hook: container $id:" "$out" | head -n 1 || true)
  if [[ -z $line ]]; then
    e2e_fail "$what: no 'oci-jail-hook: container $id:' line in runc's output: $(tail -n 2 "$out")"
  elif [[ $line == *jail.block-host* && $line == *true* && $line == *false* ]]; then
    e2e_pass "$what: the hook's message names jail.block-host and the allowed values"
  else
    e2e_fail "$what: message lacks the annotation or the allowed values: ${line#*stderr: }"
  fi
  e2e_check "$what: the container's command never ran" test ! -e "$MARKERS/$run"
  e2e_check "$what: nothing pinned for the container" test -z "$(e2e_pin_entries "$PIN_DIR" "$id")"
}

expect_ran() {  # RUN ANNOTATION
  local run=$1 out=$E2E_RUN_DIR/$1.out what="value '$2' (control)"
  run_case "$run" "$2"
  e2e_check "$what: runc run succeeded" grep -qx 0 "$out.rc"
  e2e_check "$what: the container's command ran" test -e "$MARKERS/$run"
}

expect_ran valid-true true
expect_ran valid-false false
expect_refused yes yes
expect_refused upper-true TRUE
expect_refused one 1
expect_refused empty ""
expect_refused trailing-space "true "

e2e_finish
