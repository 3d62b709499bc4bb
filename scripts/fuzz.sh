#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer harnesses (tests/fuzz, clang++, ASan+UBSan) into ./build-fuzz and runs
# each for SECONDS (default 30), starting from the committed corpus in tests/fuzz/corpus.
# Fails when any harness reports a crash, a sanitizer error, a broken invariant, an exception
# other than ojh::Error, a leak or a hang (one input taking longer than FUZZ_TIMEOUT seconds).
#
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_HARNESSES="fuzz_state fuzz_policy"   only these
#   FUZZ_PARALLEL=2                           harnesses run at once (default 1)
#   FUZZ_BUILD_DIR=DIR                        default ./build-fuzz
#   FUZZ_TIMEOUT=10                           seconds one input may take
#   FUZZ_SEED=N                               libFuzzer's -seed (default: a new one each run)
#   FUZZ_RUNS=N                               stop a harness after N inputs (or SECONDS)
#   FUZZ_FRESH=1                              start from the committed corpus only, forgetting
#                                             what earlier runs added to $FUZZ_BUILD_DIR/corpus
#
# With FUZZ_SEED and FUZZ_RUNS set (scripts/test.sh does), a run is reproducible: one process
# per harness mutates the same inputs in the same order, so a machine that passes it once
# passes it again, and a slower machine that hits SECONDS first runs a prefix of it. A failure
# then comes from the code under test, not from the luck of the draw; finding new bugs is
# the job of long runs without a seed (docs/fuzzing.md).
#
# New inputs go to $FUZZ_BUILD_DIR/corpus/<harness> (the committed corpus is only read);
# crash reproducers to $FUZZ_BUILD_DIR/artifacts/<harness>/ (emptied when the harness starts:
# keep a reproducer by copying it out), logs to $FUZZ_BUILD_DIR/logs/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
parallel=${FUZZ_PARALLEL:-1}
timeout=${FUZZ_TIMEOUT:-10}
seed=${FUZZ_SEED:-}
runs=${FUZZ_RUNS:-}
fresh=${FUZZ_FRESH:-0}
read -ra harnesses <<<"${FUZZ_HARNESSES:-fuzz_state fuzz_policy fuzz_cgroup fuzz_admin_config \
  fuzz_bundle_config fuzz_user_namespace fuzz_capability fuzz_attach_request}"

if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS_PER_HARNESS]" >&2
  exit 2
fi
for knob in seed runs; do
  if [[ -n ${!knob} && ! ${!knob} =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: FUZZ_${knob^^}=${!knob}: expected a positive number" >&2
    exit 2
  fi
done
for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (scripts/deps.sh)" >&2; exit 1; }
done

cmake -S "$top" -B "$build" -DOJH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" --target fuzzers -j "$(nproc)"

# Sanitizer reports abort at once and carry a stack; leaks count as crashes.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# With a seed, address-space randomization is the one other input to libFuzzer's choices
# (its comparison tables are indexed by code address): turned off, where the kernel lets us.
launcher=()
if [[ -n "$seed" ]] && setarch -R true 2>/dev/null; then
  launcher=(setarch -R)
fi

logs=$build/logs
mkdir -p "$logs"

run_one() {
  local name=$1
  local binary=$build/tests/fuzz/$name
  local work=$build/corpus/$name
  local artifacts=$build/artifacts/$name
  local dict=$top/tests/fuzz/dict/$name.dict
  local args=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048
    -print_final_stats=1 -artifact_prefix="$artifacts/")
  [[ -f "$dict" ]] && args+=(-dict="$dict")
  # -reload=0: never re-read the corpus directory mid-run, which would depend on timing.
  [[ -n "$seed" ]] && args+=(-seed="$seed" -reload=0)
  [[ -n "$runs" ]] && args+=(-runs="$runs")
  rm -rf "$artifacts"
  [[ "$fresh" == 1 ]] && rm -rf "$work"
  mkdir -p "$work" "$artifacts"
  local status=0
  "${launcher[@]}" "$binary" "${args[@]}" "$work" "$top/tests/fuzz/corpus/$name" \
    >"$logs/$name.log" 2>&1 || status=$?
  echo "$status" >"$logs/$name.status"
}

running=0
for name in "${harnesses[@]}"; do
  [[ -x "$build/tests/fuzz/$name" ]] || { echo "fuzz.sh: no harness $name" >&2; exit 2; }
  echo "fuzz.sh: $name for ${seconds}s${runs:+ or $runs inputs}${seed:+, seed $seed}"
  run_one "$name" &
  running=$((running + 1))
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
total=0
printf '%-22s %12s %10s %8s  %s\n' harness executions exec/s corpus result
for name in "${harnesses[@]}"; do
  log=$logs/$name.log
  status=$(cat "$logs/$name.status")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  speed=$(sed -n 's/.*exec\/s: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  corpus=$(sed -n 's/.* corp: *\([0-9]*\)\/.*/\1/p' "$log" | tail -n1)
  result=ok
  if [[ "$status" != 0 ]]; then
    result="FAILED (exit $status; reproducer in $build/artifacts/$name/)"
    failed=1
  fi
  total=$((total + ${runs:-0}))
  printf '%-22s %12s %10s %8s  %s\n' "$name" "${runs:-?}" "${speed:-?}" "${corpus:-?}" "$result"
done
printf '%-22s %12s\n' total "$total"

if ((failed)); then
  for name in "${harnesses[@]}"; do
    [[ "$(cat "$logs/$name.status")" == 0 ]] && continue
    echo "---- $name ($logs/$name.log)" >&2
    grep -m1 -B2 -A30 -E 'ERROR: |runtime error|==[0-9]+==|deadly signal|Timeout|uncaught' \
      "$logs/$name.log" >&2 || tail -n 40 "$logs/$name.log" >&2
  done
  echo "fuzz.sh: reproduce with $build/tests/fuzz/<harness> <reproducer>" >&2
  exit 1
fi
