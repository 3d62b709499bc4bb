#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# containerd 1.7 (Debian's) driven through its CRI API the way a kubelet drives it —
# RunPodSandbox, CreateContainer with the pod's config resent, StartContainer, then
# StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox — by tests/vm/cri/cri.py,
# with the systemd cgroup driver and kubelet-style pod slices.
#
# The hook reaches the containers through the CRI plugin's base_runtime_spec, written by the
# installed deploy/containerd/make-base-spec.sh, and the pod's jail.block-host annotation
# through pod_annotations: deploy/containerd/base-runtime-spec-1.7.toml, the route
# docs/containerd.md gives first. NRI's hook-injector, its alternative, cannot run here: no
# Debian release packages it (golang-github-containerd-nri-dev ships the library without
# plugins/), and the guest has no network to build or pull it. deploy/containerd/config-1.7.toml's
# settings (NRI on, pod_annotations) are applied all the same, and checked to be what runs.
#
# Pods: a CNI bridge pod and a host-network pod, each with jail.block-host=true and without.
# The container's own command runs the probes (ojh-probes); its CRI log is the result. The
# pods look like the example pod (deploy/kubernetes/example-pod.yaml): uid 65534, read-only
# root file system with an emptyDir-like /tmp, no_new_privs, every capability dropped.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

SRC=${OJH_SRC:-/usr/src/oci-jail-hook}
# deploy/ as `cmake --install --prefix /usr` (and the Debian package) installs it: the base
# spec is written by the installed make-base-spec.sh, the command docs/containerd.md gives.
EXAMPLES=${OJH_EXAMPLES:-/usr/share/doc/oci-jail-hook/examples}
# The share carries the scenarios; the CRI client is in the image's copy of the source tree
# (or beside guest/ when this file runs from a checkout).
CRI_DIR=${OJH_CRI_DIR:-}
for d in "$(dirname "$0")/../cri" "$SRC/tests/vm/cri"; do
  [[ -z $CRI_DIR && -f $d/cri.py ]] && CRI_DIR=$(cd "$d" && pwd)
done
CRI_STATE=$STATE/containerd
CRI_IMAGE=localhost/ojh/busybox:test
CNI_GATEWAY=10.77.0.1
LABEL=ojh-test=containerd
export OJH_CRI_STUBS=$CRI_STATE/stubs
mkdir -p "$CRI_STATE"

cri() { timeout "$PODMAN_TIMEOUT" python3 "$CRI_DIR/cri.py" --state-dir "$CRI_STATE/pods" "$@"; }
enforced_ids() { "$HOOK" status --json | jq -r '.containers[].id'; }
field() { jq -r "$2 // empty" "$CRI_STATE/$1.json" 2>/dev/null; }
ready() { [[ -f $CRI_STATE/ready ]] || { fail "containerd setup failed (see the first containerd scenario)"; return 1; }; }

# --- setup -------------------------------------------------------------------------------
cri_setup() {
  local c missing=()
  for c in containerd ctr runc jq bpftool python3 busybox; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [[ -n $CRI_DIR ]] || missing+=("tests/vm/cri/cri.py")
  for c in bridge host-local loopback; do
    [[ -x /usr/lib/cni/$c ]] || missing+=("/usr/lib/cni/$c (containernetworking-plugins)")
  done
  python3 -c 'import grpc, grpc_tools' 2>/dev/null || missing+=("python3-grpcio, python3-grpc-tools")
  ((${#missing[@]} == 0)) || { fail "missing: ${missing[*]}"; return 0; }

  # The shipped files are the ones under test: each of their settings must be in ours,
  # unchanged (base-runtime-spec-1.7.toml: the route that runs here; config-1.7.toml: NRI).
  local shipped diff
  for shipped in "$SRC/deploy/containerd/base-runtime-spec-1.7.toml" "$SRC/deploy/containerd/config-1.7.toml"; do
    [[ -f $shipped ]] || { fail "no $shipped"; return 0; }
    diff=$(python3 - "$shipped" "$CRI_DIR/containerd-config.toml" <<'PY'
import sys, tomllib
def flat(d, p=()):
    for k, v in d.items():
        yield from flat(v, p + (k,)) if isinstance(v, dict) else [(p + (k,), v)]
shipped = dict(flat(tomllib.load(open(sys.argv[1], "rb"))))
ours = dict(flat(tomllib.load(open(sys.argv[2], "rb"))))
print(", ".join(".".join(k) for k, v in shipped.items() if ours.get(k) != v))
PY
    )
    [[ -z $diff ]] || { fail "the test's config differs from deploy/containerd/${shipped##*/} in: $diff"; return 0; }
  done

  install -m 0644 "$CRI_DIR/containerd-config.toml" /etc/containerd/config.toml
  sh "$EXAMPLES/containerd/make-base-spec.sh" -o /etc/containerd/oci-jail-hook-base-spec.json ||
    { fail "make-base-spec.sh failed"; return 0; }
  # A bridge of its own, apart from podman's (10.88.0.0/16); its gateway is a node address.
  mkdir -p /etc/cni/net.d
  cat >/etc/cni/net.d/10-ojh-cri.conflist <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ojh-cri",
  "plugins": [
    {
      "type": "bridge", "bridge": "ojhcni0", "isGateway": true, "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "10.77.0.0/24", "gateway": "$CNI_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  # containerd uses the first file by name; Debian's podman ships 87-podman-bridge.conflist.
  local first
  first=$(find /etc/cni/net.d -maxdepth 1 -type f \( -name '*.conf' -o -name '*.conflist' -o -name '*.json' \) \
    -printf '%f\n' | LC_ALL=C sort | head -n 1)
  [[ $first == 10-ojh-cri.conflist ]] || { fail "containerd would use /etc/cni/net.d/$first"; return 0; }

  run_logged systemctl restart containerd || { fail "systemctl restart containerd failed"; return 0; }
  local i version=
  for ((i = 0; i < 60; i++)); do
    version=$(cri --timeout 5 version 2>/dev/null) && break
    sleep 1
  done
  [[ -n $version ]] || { fail "containerd's CRI does not answer: $(journalctl -u containerd -n 3 -o cat | tr '\n' ' ')"; return 0; }
  log "CRI: $version"
  # What docs/containerd.md tells an admin to check: the effective configuration.
  local dump
  dump=$(containerd config dump)
  grep -F 'pod_annotations = ["jail.block-host", "jail.block-host.*"]' <<<"$dump" ||
    fail "containerd config dump: no pod_annotations for jail.block-host"
  grep -F 'base_runtime_spec = "/etc/containerd/oci-jail-hook-base-spec.json"' <<<"$dump" ||
    fail "containerd config dump: no base_runtime_spec"
  [[ -S /var/run/nri/nri.sock ]] || fail "NRI enabled, yet no /var/run/nri/nri.sock"

  run_logged python3 "$CRI_DIR/oci_image.py" "$CRI_STATE/image.tar" "$CRI_IMAGE" \
    --busybox "$(command -v busybox)" --add "$PROBE:/bin/jail-probe" \
    --add "$(dirname "$0")/ojh-probes:/bin/ojh-probes" -- /bin/sleep 2147483647 ||
    { fail "oci_image.py failed"; return 0; }
  run_logged ctr -n k8s.io images import "$CRI_STATE/image.tar" || { fail "ctr images import failed"; return 0; }
  cri image-status "$CRI_IMAGE" || { fail "the CRI does not see $CRI_IMAGE"; return 0; }
  [[ -s $SCENARIO_CAUSES ]] || touch "$CRI_STATE/ready"
}

# --- one pod -----------------------------------------------------------------------------
# pod_up TAG NETWORK ANNOTATED SPEC... — RunPodSandbox + CreateContainer + StartContainer of
# a pod whose container runs ojh-probes with the SPECs, says "probe-done" and stays up (so
# `oci-jail-hook status` can be read while it runs). cri.py's JSON is $CRI_STATE/TAG.json, the
# log lines $STATE/TAG.out (where lib.sh's probe_line and probe_rc read them). Returns 1
# when the container did not run, with containerd's words in $CRI_STATE/TAG.error (for a hook
# refusal: the hook's own line); whether that fails the scenario is the caller's call.
pod_up() {
  local tag=$1 network=$2 annotated=$3 args rc=0
  shift 3
  rm -f "$CRI_STATE/$tag.error"
  mkdir -p "$CRI_STATE/tmp-$tag"
  chmod 1777 "$CRI_STATE/tmp-$tag"
  args=(up --name "$tag" --label "$LABEL" --container-name probe --image "$CRI_IMAGE" --user 65534
    --mount "$CRI_STATE/tmp-$tag:/tmp" --marker probe-done)
  [[ $network == host ]] && args+=(--host-network)
  [[ $annotated == yes ]] && args+=("${ENFORCE[@]}")
  log "+ cri.py ${args[*]} ..."
  # shellcheck disable=SC2016  # the container's shell expands "$@"
  cri "${args[@]}" -- /bin/sh -c '/bin/ojh-probes "$@"; echo probe-done; exec sleep 2147483647' sh "$@" \
    >"$CRI_STATE/$tag.json" || rc=$?
  jq -r '.log[]?' "$CRI_STATE/$tag.json" >"$STATE/$tag.out" 2>/dev/null || true
  jq . "$CRI_STATE/$tag.json" || true
  if ((rc != 0)); then
    local failed error line
    failed=$(field "$tag" .failed)
    error=$(field "$tag" .error)
    if [[ $error == *"oci-jail-hook: container "* ]]; then
      # runc quotes the hook's stderr: its one line is the cause worth reading.
      line="oci-jail-hook: container ${error#*oci-jail-hook: container }"
      line=${line%%$'\n'*}
      line=${line%%'\n'*}
      echo "$tag: ${failed:-cri.py} refused by the hook: ${line%: unknown}" >"$CRI_STATE/$tag.error"
    else
      echo "$tag: ${failed:-cri.py} failed: ${error:-exit $rc}" >"$CRI_STATE/$tag.error"
    fi
    return 1
  fi
  if [[ $(field "$tag" .marker_seen) != true ]]; then
    echo "$tag: the container never said probe-done (state $(field "$tag" .state))" >"$CRI_STATE/$tag.error"
    return 1
  fi
}

# up_or_fail TAG NETWORK ANNOTATED SPEC... — pod_up, whose failure fails the scenario.
up_or_fail() {
  pod_up "$@" || { fail "$(cat "$CRI_STATE/$1.error")"; return 1; }
}

# pod_down TAG — the kubelet's teardown of pod_up's pod.
pod_down() {
  local pod ctr
  pod=$(field "$1" .pod)
  ctr=$(field "$1" .container)
  [[ -n $pod ]] || return 0
  log "+ cri.py down $pod ${ctr:+--container $ctr}"
  cri down "$pod" ${ctr:+--container "$ctr"} || fail "$1: the CRI teardown failed"
}

# expect_spec TAG — the hooks from base_runtime_spec are in the container's final OCI spec
# (containerd's ContainerStatus, verbose: what runc was handed), the pod's annotation too.
expect_spec() {
  local tag=$1
  [[ $(field "$tag" '.hooks.createRuntime[0].path') == "$HOOK" &&
    $(field "$tag" '.hooks.createRuntime[0].args | join(" ")') == "oci-jail-hook create-runtime" ]] ||
    fail "$tag: no createRuntime hook of $HOOK in the container's OCI spec"
  [[ $(field "$tag" '.hooks.poststop[0].args | join(" ")') == "oci-jail-hook poststop" ]] ||
    fail "$tag: no poststop hook in the container's OCI spec"
  log "the pod's sandbox container: hooks $(field "$tag" '.sandbox_hooks | tojson')"
}

# hook_said TAG SINCE — the hook's syslog lines about TAG's container since SINCE (epoch).
hook_said() {
  local ctr
  ctr=$(field "$1" .container)
  [[ -n $ctr ]] && journalctl -t oci-jail-hook --since "@$2" -o cat | grep -F "container $ctr:"
}

# --- scenarios ---------------------------------------------------------------------------
# The enforced bridge pod runs once; its plumbing and its verdicts are two scenarios.
jailed_bridge_plumbing() {
  ready || return 0
  local since
  since=$(date +%s)
  hook_links >"$CRI_STATE/baseline"
  mapfile -t probes < <(host_probes cri-bridge "$DUMMY_V4" "$DUMMY_V6" "$CNI_GATEWAY" "$METADATA" "$PASTA_HOST")
  mapfile -t own < <(own_loopback_probes cri-bridge)
  printf '%s\n' "${probes[@]}" >"$CRI_STATE/cri-bridge.probes"
  pod_up cri-bridge bridge yes "${probes[@]}" "${own[@]}" || log "$(cat "$CRI_STATE/cri-bridge.error")"
  enforced_ids >"$CRI_STATE/cri-bridge.enforced" || true
  expect_spec cri-bridge
  [[ $(field cri-bridge '.annotations["jail.block-host"]') == true ]] ||
    fail "cri-bridge: jail.block-host is not in the container's OCI annotations (pod_annotations)"
  local said
  said=$(hook_said cri-bridge "$since" || true)
  log "the hook said: ${said:-nothing}"
  # Any line but "nothing to enforce" means it ran for this container and saw "true"
  # (until the programs load on this kernel, that line is the load's refusal).
  [[ -n $said ]] || fail "cri-bridge: no line of the hook about container $(field cri-bridge .container)"
  [[ $said != *"nothing to enforce"* ]] || fail "cri-bridge: the hook ran but did not see jail.block-host=true"
}

jailed_bridge_enforced() {
  ready || return 0
  local ctr baseline
  ctr=$(field cri-bridge .container)
  baseline=$(cat "$CRI_STATE/baseline")
  if [[ -s $CRI_STATE/cri-bridge.error ]]; then
    fail "$(cat "$CRI_STATE/cri-bridge.error")"
  else
    mapfile -t probes <"$CRI_STATE/cri-bridge.probes"
    mapfile -t own < <(own_loopback_probes cri-bridge)
    expect_blocked cri-bridge "${probes[@]}"
    expect_reached cri-bridge "${own[1]}"
    grep -qx "$ctr" "$CRI_STATE/cri-bridge.enforced" || fail "cri-bridge: oci-jail-hook status did not list $ctr"
  fi
  pod_down cri-bridge
  expect_released cri-bridge "$ctr" "$baseline"
}

bridge_control() {
  ready || return 0
  local since said
  since=$(date +%s)
  # The CNI bridge has no IPv6: the v6 probe would fail for want of a route.
  mapfile -t probes < <(host_probes cri-bridge-control "$DUMMY_V4" "$CNI_GATEWAY" "$METADATA" "$PASTA_HOST")
  mapfile -t own < <(own_loopback_probes cri-bridge-control)
  if up_or_fail cri-bridge-control bridge no "${probes[@]}" "${own[@]}"; then
    expect_reached cri-bridge-control "${probes[@]}" "${own[1]}"
    ! enforced_ids | grep -qx "$(field cri-bridge-control .container)" ||
      fail "cri-bridge-control: enforced without the annotation"
  fi
  expect_spec cri-bridge-control
  # base_runtime_spec has no "when": the hook runs for every container and must let this go.
  said=$(hook_said cri-bridge-control "$since" || true)
  log "the hook said: ${said:-nothing}"
  [[ $said == *'jail.block-host is not "true": nothing to enforce'* ]] ||
    fail "cri-bridge-control: the hook did not say it had nothing to enforce"
  pod_down cri-bridge-control
}

hostnet_enforced() {
  ready || return 0
  local baseline ctr
  baseline=$(hook_links)
  mapfile -t probes < <(host_probes cri-host 127.0.0.1 ::1 "$DUMMY_V4" "$DUMMY_V6" "$CNI_GATEWAY" "$METADATA")
  if up_or_fail cri-host host yes "${probes[@]}"; then
    expect_blocked cri-host "${probes[@]}"
  fi
  ctr=$(field cri-host .container)
  pod_down cri-host
  expect_released cri-host "$ctr" "$baseline"
}

hostnet_control() {
  ready || return 0
  mapfile -t probes < <(host_probes cri-host-control 127.0.0.1 ::1 "$DUMMY_V4" "$DUMMY_V6" "$CNI_GATEWAY" "$METADATA")
  if up_or_fail cri-host-control host no "${probes[@]}"; then
    expect_reached cri-host-control "${probes[@]}"
  fi
  pod_down cri-host-control
  # Whatever an interrupted scenario left behind would linger into the next test file.
  local left
  left=$(cri cleanup --label "$LABEL" || true)
  [[ -z $left ]] || fail "pods left behind: $(tr '\n' ' ' <<<"$left")"
}

scenario "containerd 1.7 CRI: deploy/containerd/config-1.7.toml's settings plus base_runtime_spec hooks and SystemdCgroup accepted, NRI socket up, local image seen by the CRI" cri_setup
scenario "containerd CRI, pod with jail.block-host=true: the container's OCI spec has the hooks (base_runtime_spec) and the annotation (pod_annotations); the hook runs for it" jailed_bridge_plumbing
scenario "containerd CRI, bridge pod, jail.block-host=true: node addresses (uplink v4/v6, CNI gateway, metadata, pasta) refused with EPERM (TCP, UDP), own loopback works, released after the kubelet's teardown" jailed_bridge_enforced
scenario "containerd CRI, bridge pod, no annotation (control): the same addresses reached; the hook ran and let it be" bridge_control
scenario "containerd CRI, host-network pod, jail.block-host=true: node loopback and addresses refused with EPERM (TCP, UDP), released after the teardown" hostnet_enforced
scenario "containerd CRI, host-network pod, no annotation (control): node loopback and addresses reached" hostnet_control
