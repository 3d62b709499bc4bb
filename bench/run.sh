#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs every ISSUE-4 benchmark row and prints the results table (markdown) with the machine
# facts; the same text replaces the results section of BENCHMARKS.md.
#
#   sudo bench/run.sh [--quick] [--output FILE|-] [--build-dir DIR]
#
#   --quick      a smoke run with few iterations (numbers are not comparable)
#   --output     where the results section goes (default: BENCHMARKS.md at the top of the
#                repository; "-" for stdout only)
#   --build-dir  CMake build directory (default: build/ at the top); it is configured and
#                built first, then installed into a private prefix the runc row reads its
#                hooks.d JSON from, like a runtime would
#
# Everything runs in an isolated view (as the e2e tests do): a cgroup of our own under the
# real cgroup2 tree, private mount and cgroup namespaces with cgroup2 mounted at
# /sys/fs/cgroup and a fresh bpffs at /sys/fs/bpf. BPF programs are attached only to cgroups
# created here, traffic goes only to addresses inside network namespaces created here, and
# every pin vanishes with the namespace. Root is required.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
script=$(readlink -f "$0")
build=$top/build
output=$top/BENCHMARKS.md
quick=0
in_view=0
work=
original_args=("$@")

while (($# > 0)); do
  case $1 in
    --quick) quick=1 ;;
    --output) output=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --in-view) in_view=1; work=$2; shift ;;  # internal: the second half, inside the view
    -h | --help) sed -n '3,20p' "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
# Hooks runc runs name the bench binary by an absolute path.
build=$(realpath -m "$build")

log() { printf 'bench/run.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------------------------------
# Second half: inside the isolated view. Appends ROW/DETAIL lines to $work/results.tsv.

# A row that could not run still gets a line, so a failure is visible in the table.
run_row() {  # NAME COMMAND...
  local name=$1 rc=0
  shift
  log "row: $name"
  "$@" >>"$work/results.tsv" 2> >(tee -a "$work/bench.log" >&2) || rc=$?
  if ((rc != 0)); then
    printf 'ROW\t%s\t-\tfailed (exit %d), see the log\t-\t**FAILED**\n' "$name" "$rc" \
      >>"$work/results.tsv"
  fi
  printf 'DETAIL\tload average after %s: %s\n' "$name" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    >>"$work/results.tsv"
}

# Adds the hooks of the installed hooks.d directory whose `when` matches our annotation to
# the bundle's config.json (what podman and CRI-O do with hooks.d).
wire_hooks() {  # CONFIG HOOKS_DIR
  local config=$1 file
  for file in "$2"/*.json; do
    jq -e '[(.when.annotations // {}) | to_entries[] | . as $e
            | select(("jail.block-host" | test($e.key)) and ("true" | test($e.value)))]
           | length > 0' "$file" >/dev/null || continue
    jq --slurpfile h "$file" '
      $h[0] as $h
      | reduce $h.stages[] as $stage (.;
          .hooks[$stage] += [$h.hook | {path, args, env, timeout}
                              | with_entries(select(.value != null))])' \
      "$config" >"$config.new" && mv "$config.new" "$config"
  done
  jq -e '(.hooks.createRuntime | length) > 0 and (.hooks.poststop | length) > 0' "$config" \
    >/dev/null || die "the hooks.d JSON in $2 did not wire createRuntime and poststop"
}

make_bundles() {  # creates $work/bundles/{with,without,noop,nft}
  local b
  for b in with without noop nft; do
    mkdir -p "$work/bundles/$b"
    (cd "$work/bundles/$b" && runc spec)
    jq --arg rootfs "$work/rootfs" '
      .process.args = ["/bin/true"]
      | .process.terminal = false
      | .root = {path: $rootfs, readonly: true}
      | .annotations = {"jail.block-host": "true"}' \
      "$work/bundles/$b/config.json" >"$work/bundles/$b/config.json.new"
    mv "$work/bundles/$b/config.json.new" "$work/bundles/$b/config.json"
  done
  wire_hooks "$work/bundles/with/config.json" "$work/prefix/share/containers/oci/hooks.d"
  # The same hook entries running /bin/true: what runc's hook machinery costs by itself.
  jq --slurpfile with "$work/bundles/with/config.json" --arg true "$(type -P true)" '
    .hooks = ($with[0].hooks | map_values(map(.path = $true | .args = ["true"])))' \
    "$work/bundles/noop/config.json" >"$work/bundles/noop/config.json.new"
  mv "$work/bundles/noop/config.json.new" "$work/bundles/noop/config.json"
  # The nftables baseline: one createRuntime hook that puts the same rules into the
  # container's netns (its rules go with the netns: no poststop).
  jq --arg bench "$build/bench/ojh-bench" '
    .hooks = {createRuntime: [{path: $bench, args: ["ojh-bench", "nft-hook"]}]}
    | .annotations = {}' \
    "$work/bundles/nft/config.json" >"$work/bundles/nft/config.json.new"
  mv "$work/bundles/nft/config.json.new" "$work/bundles/nft/config.json"
}

# The hooks really run: `runc create` stops after the createRuntime hooks, so the pins must
# be there; `runc delete` runs poststop, so they must be gone again.
check_runc_wiring() {
  local state=$work/runc-check
  runc --root "$state" create --bundle "$work/bundles/with" ojh-bench-check \
    </dev/null >/dev/null 2>"$work/runc-check.log" || die "runc create: $(cat "$work/runc-check.log")"
  [[ -n $(check_pins) ]] ||
    { runc --root "$state" delete -f ojh-bench-check; die "hook pinned nothing for ojh-bench-check"; }
  runc --root "$state" delete -f ojh-bench-check
  [[ -z $(check_pins) ]] || die "poststop left $(check_pins)"
}

# The pin entries (named by cgroup) whose id record is ojh-bench-check.
check_pins() {
  local entry
  for entry in /sys/fs/bpf/oci-jail-hook/v1/containers/cgroup:*; do
    [[ $(readlink "$entry/id" 2>/dev/null) == ojh-bench-check ]] && echo "$entry"
  done
  return 0
}

inside_view() {
  local bench=$build/bench/ojh-bench hook=$work/prefix/libexec/oci/hooks.d/oci-jail-hook
  local sockets_args=(--blocks 201) scale_args=(--count 1000) runc_args=(--runs 100)
  local start_args=(--runs 400)
  if ((quick)); then
    sockets_args=(--blocks 11 --warmup 2 --scale 0.2)
    scale_args=(--count 100 --window 5 --pairs 5)
    runc_args=(--runs 5 --warmup 1)
    start_args=(--runs 20 --warmup 2)
  fi
  local memcg_args=()
  if mountpoint -q "$work/memcg" 2>/dev/null; then memcg_args=(--memcg "$work/memcg"); fi

  run_row "socket rows" "$bench" sockets "${sockets_args[@]}"
  run_row "hook start" "$bench" hook-start --hook "$hook" \
    --shared-hook "$build/bench/oci-jail-hook-shared" "${start_args[@]}"
  run_row "hook scale" "$bench" hook-scale --hook "$hook" "${scale_args[@]}" "${memcg_args[@]}"
  if (make_bundles && check_runc_wiring) 2>>"$work/bench.log"; then
    run_row "runc run" "$bench" runc --runc "$(command -v runc)" --root "$work/runc-state" \
      --bundle-with "$work/bundles/with" --bundle-without "$work/bundles/without" \
      --bundle-noop "$work/bundles/noop" --bundle-nft "$work/bundles/nft" "${runc_args[@]}"
    # The same bundles under crun (the same command line; podman's default runtime), without
    # linux.resources: crun's device program raises RLIMIT_MEMLOCK first, which this view's
    # rlimits refuse (tests/e2e/runtimes_lib.sh). Applied to every variant alike. crun
    # writes the state to a hook's stdin and fails with SIGPIPE when the hook exits unread,
    # so its no-op hook reads it (dd) where runc's is /bin/true.
    if command -v crun >/dev/null; then
      local b
      for b in with without noop nft; do
        mkdir -p "$work/bundles/crun-$b"
        jq --arg dd "$(type -P dd)" 'del(.linux.resources)
          | if .hooks then .hooks |= map_values(map(if .args == ["true"]
              then .path = $dd | .args = ["dd", "of=/dev/null", "status=none"] else . end))
            else . end' "$work/bundles/$b/config.json" >"$work/bundles/crun-$b/config.json"
      done
      run_row "crun run" "$bench" runc --runc "$(command -v crun)" --root "$work/crun-state" \
        --bundle-with "$work/bundles/crun-with" --bundle-without "$work/bundles/crun-without" \
        --bundle-noop "$work/bundles/crun-noop" --bundle-nft "$work/bundles/crun-nft" \
        "${runc_args[@]}"
    else
      printf 'ROW\tcrun run\t-\tcrun is not installed\t-\t**FAILED**\n' >>"$work/results.tsv"
    fi
  else
    log "runc row: setup failed: $(tail -n 1 "$work/bench.log")"
    printf 'ROW\trunc run\t-\tsetup failed: %s\t-\t**FAILED**\n' "$(tail -n 1 "$work/bench.log")" \
      >>"$work/results.tsv"
  fi
}

if ((in_view)); then
  inside_view
  exit 0
fi

# ---------------------------------------------------------------------------------------
# First half: on the host. Build, install, prepare, enter the view, then write the report.

[[ $(id -u) == 0 ]] || die "needs root (cgroup BPF, namespaces, runc)"
for tool in cmake runc jq unshare mountpoint ip; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

cgroup2_mount() {  # the visible cgroup2 mount whose root is "/"
  awk '{ for (i = 7; $i != "-"; i++) {} }
       $(i + 1) == "cgroup2" && $4 == "/" { mount = $5 }
       END { if (mount == "") exit 1; print mount }' /proc/self/mountinfo
}

# The cgroup v1 memory controller (hybrid hosts like this one): a child of our memcg that
# only the hook processes join, so its kernel-memory counter sees what they allocate (maps
# charge their elements to the memcg of the process that created the map).
v1_memcg_dir() {
  local mount rel
  mount=$(awk '{ for (i = 7; $i != "-"; i++) {} }
               $(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/ && $4 == "/" { print $5; exit }' \
    /proc/self/mountinfo)
  rel=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
  [[ -n $mount && -n $rel && -e $mount$rel/memory.kmem.usage_in_bytes ]] || return 1
  echo "${mount}${rel%/}"
}

work=$(mktemp -d /tmp/ojh-bench-run.XXXXXX)
view_cgroup=
memcg=
cleanup() {
  local rc=$? i
  set +e
  if [[ -n $view_cgroup && -d $view_cgroup ]]; then
    # Only our own processes can be in it; cgroup.kill ends whatever a failure left behind.
    [[ -e $view_cgroup/cgroup.kill ]] && echo 1 >"$view_cgroup/cgroup.kill"
    for ((i = 0; i < 50; i++)); do
      grep -q '^populated 0' "$view_cgroup/cgroup.events" 2>/dev/null && break
      sleep 0.1
    done
    find "$view_cgroup" -depth -type d -exec rmdir {} + 2>/dev/null
  fi
  [[ -n $memcg && -d $memcg ]] && rmdir "$memcg" 2>/dev/null
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building in $build"
cmake -S "$top" -B "$build" >/dev/null
cmake --build "$build" -j "$(nproc)" >"$work/build.log" 2>&1 || {
  tail -n 30 "$work/build.log" >&2
  die "build failed"
}
cmake --install "$build" --prefix "$work/prefix" >/dev/null

busybox=
for candidate in /bin/busybox /usr/bin/busybox; do
  if [[ -x $candidate && $(LC_ALL=C ldd "$candidate" 2>&1) == *"not a dynamic executable"* ]]; then
    busybox=$candidate
    break
  fi
done
[[ -n $busybox ]] || die "no static busybox (install busybox-static)"
mkdir -p "$work/rootfs"/{bin,dev,proc,sys,tmp,etc}
cp "$busybox" "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
ln -s busybox "$work/rootfs/bin/sh"

memcg_note="memcg: not measured (no cgroup v1 memory controller with kmem accounting)"
if parent=$(v1_memcg_dir); then
  memcg=$parent/ojh-bench-hooks-$$
  mkdir "$memcg"
  mkdir "$work/memcg"
  memcg_note="memcg: hook processes in ${memcg#/sys/fs/cgroup/} (cgroup v1 memory.kmem.usage_in_bytes)"
fi

cg2=$(cgroup2_mount) || die "no cgroup2 mount"
view_cgroup=$cg2/ojh-bench-$$
mkdir "$view_cgroup"
log "entering the isolated view (cgroup ${view_cgroup#"$cg2"}, private mount + cgroup namespaces)"
view_args=(--in-view "$work" --build-dir "$build")
((quick)) && view_args+=(--quick)
# The child joins our cgroup before unsharing, so its cgroup namespace is rooted there; it
# then moves to a leaf ("launcher") so that containers and bench cgroups are its siblings.
OJH_BENCH_MEMCG=$memcg OJH_BENCH_WORK=$work sh -c '
    echo $$ >"$0/cgroup.procs" && exec unshare --mount --cgroup --propagation private -- "$@"' \
  "$view_cgroup" sh -c '
    set -e
    if [ -n "$OJH_BENCH_MEMCG" ]; then mount --bind "$OJH_BENCH_MEMCG" "$OJH_BENCH_WORK/memcg"; fi
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
    mount -t bpf bpf /sys/fs/bpf
    mkdir /sys/fs/cgroup/launcher
    echo $$ >/sys/fs/cgroup/launcher/cgroup.procs
    exec "$@"' bench-view bash "$script" "${view_args[@]}" || view_rc=$?
if ((${view_rc:-0} != 0)); then
  log "the run inside the isolated view failed (exit $view_rc); reporting what it measured"
  printf 'ROW\tbench/run.sh\t-\tthe isolated view exited %d\t-\t**FAILED**\n' "$view_rc" \
    >>"$work/results.tsv"
fi

# ---------------------------------------------------------------------------------------
# Report

elapsed=$(($(date +%s) - started))
virt=$(systemd-detect-virt 2>/dev/null || true)
if [[ -z $virt || $virt == none ]]; then
  virt=$(cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name 2>/dev/null | paste -sd' ')
fi
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
# BENCHMARKS.md is this script's own output: an earlier run's table in it changes nothing.
if [[ -n $(git -C "$top" status --porcelain -- . ':!BENCHMARKS.md' 2>/dev/null) ]]; then
  rev="$rev + uncommitted changes"
fi
command_line="sudo bench/run.sh${original_args[*]:+ ${original_args[*]}}"

report() {
  echo "## Results"
  echo
  echo "Made by \`$command_line\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit $rev;" \
    "the whole run took ${elapsed} s.$( ((quick)) && echo ' **Quick run: numbers are not comparable.**')"
  echo
  echo "| metric | target | measured | ratio | verdict |"
  echo "|---|---|---|---|---|"
  awk -F'\t' '$1 == "ROW" { printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6 }' \
    "$work/results.tsv"
  echo
  echo "### Machine"
  echo
  echo "- kernel: $(uname -r)"
  echo "- CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), nproc $(nproc)"
  echo "- libbpf: $(pkg-config --modversion libbpf 2>/dev/null || echo unknown)," \
    "runc: $(runc --version | awk 'NR == 1 { print $3 }')"
  echo "- virtualization: ${virt:-unknown}"
  echo "- load average at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $memcg_note"
  echo
  echo "### Details"
  echo
  awk -F'\t' '$1 == "DETAIL" { printf "- %s\n", $2 }' "$work/results.tsv"
}

report >"$work/report.md"
cat "$work/report.md"

# Only the generated section of BENCHMARKS.md is replaced; the text around it (method,
# analysis of missed targets) is kept.
if [[ $output != - ]]; then
  begin='<!-- bench/run.sh results: begin -->'
  end='<!-- bench/run.sh results: end -->'
  if [[ ! -f $output ]]; then
    printf '# Benchmarks\n\n%s\n%s\n' "$begin" "$end" >"$output"
  fi
  if ! grep -qxF "$begin" "$output" || ! grep -qxF "$end" "$output"; then
    die "$output has no results markers ($begin ... $end)"
  fi
  awk -v begin="$begin" -v end="$end" -v report="$work/report.md" '
    $0 == begin { print; while ((getline line < report) > 0) print line; skip = 1; next }
    $0 == end { skip = 0 }
    !skip' "$output" >"$output.new"
  mv "$output.new" "$output"
  log "results written to $output"
fi
