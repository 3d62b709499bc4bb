#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
#
# A policy the admin sets and container authors cannot weaken, through a real runtime
# (runc) and the installed hooks.d files. The admin config reaches the hook as
# `--config FILE` in copies of those files, the way an admin's own hooks.d file would.
#
#   audit  annotation-exceptions = false: jail.block-host.mode=audit (which refuses nothing)
#          and jail.block-host.allow are refused — runc fails, the command never runs,
#          nothing is pinned; mode=enforce still runs. With the default config the same
#          audit container runs and reaches the fake host: why the refusal matters.
#   dns    annotation-exceptions = false: port 53 stays open only to trusted nameservers —
#          those of trusted-nameservers and of the hook's own /etc/resolv.conf. A nameserver
#          that only the container's resolv.conf names (a pod author's dnsConfig) is
#          refused like any other host address; with the default config it is open.
#   all    enforce-all = true with the files of share/oci-jail-hook/hooks.d-enforce-all
#          ("always": true): a container without any annotation is enforced and released
#          at poststop; jail.block-host=false and mode=audit are refused. With the default
#          hooks.d files the hook never runs for it: the files are what makes it mandatory.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=policy_lib.sh
source "$(dirname "$0")/policy_lib.sh"

e2e_runc_view "$@"

ENFORCE_ALL_DIR=$HOOK_PREFIX/share/oci-jail-hook/hooks.d-enforce-all
PORT=18120
NS_POD=$E2E_HOST_V4        # a host address a pod author names as nameserver
NS_TRUSTED=10.200.0.53     # a host address the admin trusts as nameserver
LOOP_NS=127.0.0.53         # the host's own stub resolver (host-netns containers)
_e2e_ip "$E2E_HOST_NS" addr add "$NS_TRUSTED/24" dev vh
for proto in tcp udp; do
  pl_listen "$E2E_HOST_NETNS" "$proto" "$E2E_HOST_V4" "$PORT"
  pl_listen "$E2E_HOST_NETNS" "$proto" "$NS_TRUSTED" "$PORT"
  for addr in "$NS_POD" "$NS_TRUSTED" "$LOOP_NS"; do
    pl_listen "$E2E_HOST_NETNS" "$proto" "$addr" 53
  done
done

# The hook reads the host's resolver configuration from /etc/resolv.conf of its mount
# namespace; in the isolated view (a private mount namespace) that file names only the stub,
# whatever this machine's own file says.
HOST_RESOLV=
if [[ $E2E_VIEW == isolated ]]; then
  HOST_RESOLV=$E2E_RUN_DIR/host-resolv.conf
  printf 'nameserver %s\noptions edns0\n' "$LOOP_NS" >"$HOST_RESOLV"
  mount --bind "$HOST_RESOLV" /etc/resolv.conf ||
    e2e_die "bind-mounting $HOST_RESOLV on /etc/resolv.conf"
  e2e_defer "umount /etc/resolv.conf"
fi

# admin_conf NAME TEXT — a root-owned 0644 admin config (what the hook accepts); sets CONF.
admin_conf() {
  CONF=$E2E_RUN_DIR/$1.conf
  printf '%s\n' "$2" >"$CONF"
  if ! chown 0:0 "$CONF" || ! chmod 0644 "$CONF"; then e2e_die "making $CONF root-owned 0644"; fi
}

# hooks_with_conf SRC-DIR NAME CONF — copies of SRC-DIR's hooks.d files whose hook runs with
# `--config CONF`; sets HOOKS (the new directory).
hooks_with_conf() {
  local file
  HOOKS=$E2E_RUN_DIR/hooks-$2
  mkdir -p "$HOOKS"
  for file in "$1"/*.json; do
    jq --arg conf "$3" '.hook.args = [.hook.args[0], "--config", $conf] + .hook.args[1:]' \
      "$file" >"$HOOKS/${file##*/}" || e2e_die "adding --config to $file"
  done
}

# bundle RUN NET HOOKS-DIR ANNOTATIONS-JSON SCRIPT [RESOLV-FILE] — a bundle whose hooks are
# those of HOOKS-DIR that apply to it (annotations and `when` as a runtime reads them).
bundle() {
  e2e_make_bundle "ap-$1" "$2" - "$5"
  e2e_bundle_bind "$MARKERS" /markers
  pl_bundle_annotations "$4"
  [[ -z ${6:-} ]] || pl_bundle_resolv_conf "$6"
  HOOKS_DIR=$3 e2e_bundle_wire_hooks
}

# refused RUN NET HOOKS-DIR ANNOTATIONS-JSON CAUSE — the container is not created: runc fails,
# the hook says CAUSE after "container ID: ", the command never runs, nothing is pinned.
refused() {
  local run=$1 id=ojh-ap-$$-$1 out=$E2E_RUN_DIR/$1.out rc=0
  bundle "$run" "$2" "$3" "$4" "touch /markers/$run; echo container-ran"
  e2e_runc_run "$id" "$E2E_BUNDLE" "$out" || rc=$?
  e2e_check "$run: runc run failed (exit $rc)" test "$rc" != 0
  if grep -qF -- "oci-jail-hook: container $id: $5" "$out"; then
    e2e_pass "$run: the hook says '$5'"
  else
    e2e_fail "$run: expected 'container $id: $5' in runc's output, got: $(tail -n 2 "$out")"
  fi
  e2e_check "$run: the container's command never ran" test ! -e "$MARKERS/$run"
  e2e_check "$run: nothing pinned for it" test -z "$(e2e_pin_entries "$PIN_DIR" "$id")"
}

# probed RUN NET HOOKS-DIR ANNOTATIONS-JSON RESOLV-FILE|- PROBE... — the container runs the
# probes (policy_lib.sh's "VERB PROTO ADDR PORT EXPECT") to its end, and poststop releases it.
probed() {
  local run=$1 net=$2 hooks=$3 annotations=$4 resolv=$5 id=ojh-ap-$$-$1 out=$E2E_RUN_DIR/$1.out
  shift 5
  [[ $resolv != - ]] || resolv=
  bundle "$run" "$net" "$hooks" "$annotations" \
    "echo container-started
$(pl_probe_script "$run" "$@")
echo container-done" "$resolv"
  if ! e2e_runc_run "$id" "$E2E_BUNDLE" "$out"; then
    e2e_fail "$run: runc run failed: $(tail -n 3 "$out" | tr '\n' ' ')"
    return 0
  fi
  e2e_pass "$run: runc run succeeded"
  e2e_check "$run: the container ran to its end" grep -qx container-done "$out"
  pl_check_probes "$run" "$out" "$@"
  e2e_check "$run: released at poststop (status no longer lists it)" \
    test "$(pl_status_of "$id")" == null
}

DEFAULT_HOOKS=$HOOKS_DIR
ON='{"jail.block-host": "true"}'
AUDIT='{"jail.block-host": "true", "jail.block-host.mode": "audit"}'
to_host=("connect tcp $E2E_HOST_V4 $PORT" "sendto udp $E2E_HOST_V4 $PORT")
with() {  # EXPECT PROBE... — the probes with EXPECT appended
  local expect=$1 probe
  shift
  for probe in "$@"; do printf '%s\n' "$probe $expect"; done
}
mapfile -t host_reached < <(with reached "${to_host[@]}")
mapfile -t host_blocked < <(with blocked "${to_host[@]}")

# ---------------------------------------------------------------------------------------
# audit: annotation-exceptions = false takes the modes that weaken away from authors.

admin_conf no-exceptions 'annotation-exceptions = false'
hooks_with_conf "$DEFAULT_HOOKS" no-exceptions "$CONF"
NOEXC_HOOKS=$HOOKS
admin_conf defaults '# every setting at its default'
hooks_with_conf "$DEFAULT_HOOKS" defaults "$CONF"
DEFAULTS_HOOKS=$HOOKS

refused audit-refused own "$NOEXC_HOOKS" "$AUDIT" \
  'annotation jail.block-host.mode=audit is not permitted on this host (admin config: annotation-exceptions = false)'
refused allow-refused own "$NOEXC_HOOKS" \
  '{"jail.block-host": "true", "jail.block-host.allow": "tcp:10.200.0.1:18120"}' \
  'annotation jail.block-host.allow is not permitted on this host (admin config: annotation-exceptions = false)'
probed enforce-accepted own "$NOEXC_HOOKS" \
  '{"jail.block-host": "true", "jail.block-host.mode": "enforce", "jail.block-host.dns": "false"}' \
  - "${host_blocked[@]}"
# Control: where the admin leaves the choice to authors, audit mode protects nothing.
probed audit-default-config own "$DEFAULTS_HOOKS" "$AUDIT" - "${host_reached[@]}"

# ---------------------------------------------------------------------------------------
# dns: with annotation-exceptions = false only trusted nameservers keep port 53 open.

RESOLV_POD=$E2E_RUN_DIR/resolv-pod.conf  # what the runtime writes from the pod's dnsConfig
printf 'search example.test\nnameserver %s\nnameserver %s\n' "$NS_POD" "$NS_TRUSTED" >"$RESOLV_POD"
ns_probes() {  # EXPECT-POD EXPECT-TRUSTED
  printf '%s\n' "sendto udp $NS_POD 53 $1" "connect tcp $NS_POD 53 $1" \
    "sendto udp $NS_TRUSTED 53 $2" "connect tcp $NS_TRUSTED 53 $2" \
    "connect tcp $NS_TRUSTED $PORT blocked"
}
admin_conf trusted "annotation-exceptions = false
trusted-nameservers = $NS_TRUSTED"
hooks_with_conf "$DEFAULT_HOOKS" trusted "$CONF"
TRUSTED_HOOKS=$HOOKS

mapfile -t probes < <(ns_probes blocked blocked)
probed dns-untrusted own "$NOEXC_HOOKS" "$ON" "$RESOLV_POD" "${probes[@]}"
mapfile -t probes < <(ns_probes blocked reached)
probed dns-trusted own "$TRUSTED_HOOKS" "$ON" "$RESOLV_POD" "${probes[@]}"
mapfile -t probes < <(ns_probes reached reached)
probed dns-default-config own "$DEFAULTS_HOOKS" "$ON" "$RESOLV_POD" "${probes[@]}"

# The host's own resolver: the hook trusts the nameservers of its own /etc/resolv.conf (the
# runtime's mount namespace; here this test's private one, where a bind mount names the stub).
if [[ -n $HOST_RESOLV ]]; then
  RESOLV_HOSTNET=$E2E_RUN_DIR/resolv-hostnet.conf
  printf 'nameserver %s\nnameserver %s\n' "$LOOP_NS" "$NS_POD" >"$RESOLV_HOSTNET"
  probed dns-host-resolver host "$NOEXC_HOOKS" "$ON" "$RESOLV_HOSTNET" \
    "sendto udp $LOOP_NS 53 reached" "connect tcp $LOOP_NS 53 reached" \
    "sendto udp $NS_POD 53 blocked" "connect tcp $NS_POD 53 blocked"
else
  e2e_log "E2E_VIEW=host: the host-resolver case needs a private mount namespace, not run"
fi

# ---------------------------------------------------------------------------------------
# all: enforce-all = true and the hooks.d files that run the hook for every container.

enforce_all_files_ok() {
  local file name prefix
  prefix=$(readlink -f "$HOOK_PREFIX")
  [[ -d $ENFORCE_ALL_DIR ]] || return 1
  for name in oci-jail-hook-create-runtime.json oci-jail-hook-poststop.json; do
    file=$ENFORCE_ALL_DIR/$name
    [[ -f $file ]] || return 1
    # Same names as the default files, so that one in /etc/containers/oci/hooks.d masks them.
    [[ $(readlink -f "$(jq -r .hook.path "$file")") == "$prefix"/* ]] || return 1
    jq -e '.version == "1.0.0" and .when == {always: true}' "$file" >/dev/null || return 1
    cmp -s <(jq -S 'del(.when)' "$file") <(jq -S 'del(.when)' "$HOOKS_DIR/$name") || return 1
  done
}
if enforce_all_files_ok; then
  e2e_pass "all: $ENFORCE_ALL_DIR holds the two hooks.d files with \"always\": true"
  admin_conf enforce-all 'enforce-all = true'
  hooks_with_conf "$ENFORCE_ALL_DIR" enforce-all "$CONF"
  ALL_HOOKS=$HOOKS
  hooks_with_conf "$DEFAULT_HOOKS" enforce-all-default-files "$CONF"
  ALL_DEFAULT_FILES_HOOKS=$HOOKS

  probed all-unannotated own "$ALL_HOOKS" '{}' - "${host_blocked[@]}"
  probed all-other-annotation own "$ALL_HOOKS" '{"io.example/team": "blue"}' - "${host_blocked[@]}"
  refused all-false own "$ALL_HOOKS" '{"jail.block-host": "false"}' \
    'annotation jail.block-host=false is not permitted on this host (admin config: enforce-all = true)'
  refused all-audit own "$ALL_HOOKS" '{"jail.block-host.mode": "audit"}' \
    'annotation jail.block-host.mode=audit is not permitted on this host (admin config: enforce-all = true)'
  # Control: the annotation-gated files never run the hook for it, whatever the config says.
  probed all-default-files own "$ALL_DEFAULT_FILES_HOOKS" '{}' - "${host_reached[@]}"
else
  e2e_fail "all: $ENFORCE_ALL_DIR lacks the two hooks.d files (\"always\": true, hook.path in $HOOK_PREFIX, otherwise the default files)"
fi

e2e_finish
