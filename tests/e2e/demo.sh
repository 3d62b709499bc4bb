#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A two-minute demo of oci-jail-hook with a real runc container (run as root):
#   HOOK_PREFIX=<cmake --install prefix> PROBE=<build>/tests/probe/jail-probe tests/e2e/demo.sh
# It builds nothing. It makes a throw-away fake host (a network namespace with a service on
# 127.0.0.1:8080), then runs the same busybox container, sharing that host's network, twice:
# without the annotation and with jail.block-host=true. When podman is installed, it then
# does the same with `podman run`, showing the command lines. Everything is removed at the
# end.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=runtimes_lib.sh
source "$(dirname "$0")/runtimes_lib.sh"

e2e_runc_view "$@"

PORT=8080
say() { printf '%s\n' "$@"; }
indent() { sed 's/^/    /'; }

e2e_listen "$E2E_HOST_NETNS" tcp 127.0.0.1 "$PORT"
SERVICE_LOG=$E2E_LISTEN_LOG

CONTAINER_SCRIPT="
echo '\$ jail-probe connect tcp 127.0.0.1 $PORT'
jail-probe connect tcp 127.0.0.1 $PORT
echo '\$ echo hello | nc -w 2 127.0.0.1 $PORT'
echo hello | nc -w 2 127.0.0.1 $PORT && echo '(sent)'
true"

run_container() {  # NAME ANNOTATION
  local out=$E2E_RUN_DIR/$1.out lines_before
  lines_before=$(wc -l <"$SERVICE_LOG")
  e2e_make_bundle "demo-$1" host "$2" "$CONTAINER_SCRIPT"
  e2e_bundle_wire_hooks 2>/dev/null
  say "  hooks in config.json: $(jq -c '.hooks // {} | map_values(map(.args | join(" ")))' \
    "$E2E_BUNDLE/config.json")"
  e2e_runc_run "demo-$1-$$" "$E2E_BUNDLE" "$out" || true
  say "  inside the container:"
  indent <"$out"
  e2e_listener_barrier "$E2E_HOST_NETNS" tcp 127.0.0.1 "$PORT" "$SERVICE_LOG"
  say "  the host's service on 127.0.0.1:$PORT received:"
  tail -n +"$((lines_before + 1))" "$SERVICE_LOG" | grep -v ': probe barrier-' |
    sed 's/^/    /' | grep . || say "    (nothing)"
  DEMO_OUT=$out
}

say "oci-jail-hook demo"
say "=================="
say "A fake host: network namespace $E2E_HOST_NS, a service listening on 127.0.0.1:$PORT."
say "A busybox container run by runc $(runc --version | awk 'NR == 1 { print $3 }') that" \
  "shares the host's network namespace (like podman --network=host)."
say "The hook is wired from $HOOKS_DIR, as podman or CRI-O would."
say ""
say "1. Without the annotation: the container reaches the host's loopback service."
run_container open -
grep -q ': reached$' "$DEMO_OUT" && open_ok=1 || open_ok=0
say ""
say "2. The same container with the annotation jail.block-host=true:"
run_container jailed true
grep -q ': blocked EPERM$' "$DEMO_OUT" && jailed_ok=1 || jailed_ok=0
if [[ -n $(e2e_pin_entries "$PIN_DIR" "demo-jailed-$$") ]]; then
  say "  (the hook's pins for the deleted container are still there: poststop did not run?)"
  jailed_ok=0
fi
say ""
runc_ok=0
if ((open_ok && jailed_ok)); then
  runc_ok=1
  say "What happened: at the createRuntime stage runc ran oci-jail-hook, which attached cgroup" \
    "BPF programs (connect4/6, sendmsg4/6, and an egress backstop for raw/ICMP sockets) to" \
    "the container's cgroup. connect() to the host now fails with EPERM" \
    "(\"Operation not permitted\") before any packet leaves, so the" \
    "service never saw the second container. When the container was deleted, the poststop" \
    "hook removed the programs again."
else
  say "Unexpected result: the first container should reach the service and the second should be" \
    "blocked with EPERM. Work files: $E2E_RUN_DIR (set E2E_KEEP_WORK=1 to keep them)."
fi

# ---------------------------------------------------------------------------------------
# The same with podman, which finds the hook through the installed hooks.d files.

# show_podman_command RUN-OPTION... -- IMAGE-AND-COMMAND... — prints the command line, the
# options only this demo needs on continuation lines of their own.
show_podman_command() {
  local run=() rest=()
  while [[ $1 != -- ]]; do run+=("$1"); shift; done
  shift
  rest=("$@")
  say "  \$ $(rt_quote podman --hooks-dir "$HOOKS_DIR") \\" \
    "        $(rt_quote "${RT_PODMAN_STORAGE[@]:0:4}") \\" \
    "        $(rt_quote "${RT_PODMAN_STORAGE[@]:4}") \\" \
    "        $(rt_quote "${RT_PODMAN_HOST[@]}") \\" \
    "      $(rt_quote run "${run[@]}") \\" \
    "        $(rt_quote "${RT_PODMAN_RUN[@]}") \\" \
    "        $(rt_quote "${rest[@]}")"
}

podman_container() {  # NAME ANNOTATION-OPTION...
  local name=$1 out=$E2E_RUN_DIR/podman-$1.out lines_before
  shift
  local run=(--rm --network host "$@")
  local rest=("$RT_IMAGE" jail-probe connect tcp 127.0.0.1 "$PORT" "hello-from-podman-$name")
  lines_before=$(wc -l <"$SERVICE_LOG")
  show_podman_command "${run[@]}" -- "${rest[@]}"
  nsenter --net="$E2E_HOST_NETNS" -- "${RT_PODMAN[@]}" run "${run[@]}" "${RT_PODMAN_RUN[@]}" \
    "${rest[@]}" </dev/null >"$out" 2>&1 || true
  say "  output:"
  grep -v 'level=warning msg="Failed to add conmon to cgroupfs sandbox cgroup' "$out" | indent
  e2e_listener_barrier "$E2E_HOST_NETNS" tcp 127.0.0.1 "$PORT" "$SERVICE_LOG"
  say "  the host's service on 127.0.0.1:$PORT received:"
  tail -n +"$((lines_before + 1))" "$SERVICE_LOG" | grep -v ': probe barrier-' |
    sed 's/^/    /' | grep . || say "    (nothing)"
  DEMO_OUT=$out
  # No other container is running now: whatever is pinned for one is a leftover.
  PODMAN_LEFTOVER=0
  [[ -n $(ls -A "$PIN_DIR/v1/containers" 2>/dev/null) ]] && PODMAN_LEFTOVER=1
  return 0
}

podman_ok=1
say ""
if why=$(rt_podman_unavailable); then
  say "3. podman: skipped ($why)."
else
  rt_podman_setup
  rt_podman_import_busybox
  version=$(podman --version | awk '{ print $3 }')
  say "3. The same with podman $version, in the fake host's network namespace." \
    "   podman reads the installed hooks.d files itself (--hooks-dir; by default it reads" \
    "   /usr/share/containers/oci/hooks.d, where \`cmake --install build --prefix /usr\` puts" \
    "   them) and adds the hook to every container whose annotations match." \
    "   The more indented option lines only give this demo throw-away storage and fit this" \
    "   machine; you would normally leave them out."
  say "" "  Without the annotation:"
  podman_container open
  grep -q ': reached$' "$DEMO_OUT" || podman_ok=0
  say "" "  With --annotation jail.block-host=true:"
  podman_container jailed --annotation jail.block-host=true
  grep -q ': blocked EPERM$' "$DEMO_OUT" || podman_ok=0
  if ((PODMAN_LEFTOVER)); then
    say "  (the hook's pins for a removed container are still there: poststop did not run?)"
    podman_ok=0
  fi
  say ""
  if ((podman_ok)); then
    say "podman ran the same hook through runc: the annotated container got EPERM, and when" \
      "--rm removed it, podman ran the poststop hook, which removed the programs again."
  else
    say "Unexpected podman result: the first container should reach the service and the" \
      "second should be blocked with EPERM. Work files: $E2E_RUN_DIR (set E2E_KEEP_WORK=1)."
  fi
fi
((runc_ok && podman_ok))
