#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# containerd 1.7 (Debian's) driven through its CRI API the way a kubelet drives it:
# RunPodSandbox, CreateContainer (with the pod config resent), StartContainer, then
# StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox, by tests/vm/cri/cri.py.
# The hook reaches the containers through the CRI plugin's base_runtime_spec, and the pod's
# jail.block-host annotation through pod_annotations: NRI's hook-injector, which
# docs/containerd.md describes, is packaged by no Debian release (golang-github-containerd-
# nri-dev ships the library without plugins/), and the guest has no network to build or pull
# it. The NRI settings of deploy/containerd/config-1.7.toml are applied all the same.
#
# Pods: a bridge (CNI) pod and a host-network pod, each once with jail.block-host=true and
# once without. The container's own command is the probe; its CRI log is the result.
# Output: one "ok N - name" / "not ok N - name # cause" line per check, "# ..." diagnostics.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${OJH_SRC:-/usr/src/oci-jail-hook}
cri_dir=${OJH_CRI_DIR:-}
# The share carries the scenarios; the client may travel with them or sit in the image's
# copy of the source tree.
for d in "$here/../cri" "$src/tests/vm/cri"; do
  [[ -z $cri_dir && -f $d/cri.py ]] && cri_dir=$(cd "$d" && pwd)
done
hook=${OJH_HOOK:-/usr/libexec/oci/hooks.d/oci-jail-hook}
probe=${OJH_PROBE:-/usr/local/libexec/ojh-vm/jail-probe}
image=localhost/ojh/busybox:test
port=18080
gateway=10.77.0.1
metadata=169.254.169.254
label=ojh-test=containerd

work=$(mktemp -d /tmp/ojh-containerd.XXXXXX)
export OJH_CRI_STUBS=$work/stubs
listener=

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1 # $2"; }
note() { printf '%s\n' "$@" | sed 's/^/# /'; }
# verdict NAME CAUSE — ok when CAUSE is empty.
verdict() { if [[ -z $2 ]]; then ok "$1"; else not_ok "$1" "$2"; fi; }
cri() { python3 "$cri_dir/cri.py" --state-dir "$work/state" "$@"; }
links() { bpftool link list 2>/dev/null | grep -c '^[0-9]\+:'; }
enforced_ids() { "$hook" status --json 2>/dev/null | jq -r '.containers[].id'; }

cleanup() {
  [[ -n $cri_dir ]] && cri cleanup --label "$label" >/dev/null 2>&1
  [[ -n $listener ]] && kill "$listener" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

names=(
  "containerd: CRI up with deploy/containerd/config-1.7.toml's settings, base_runtime_spec, SystemdCgroup; NRI socket; local image"
  "containerd: the annotated pod's container gets the hooks (base_runtime_spec) and jail.block-host=true (pod_annotations); the hook runs for it"
  "containerd: bridge pod, jail.block-host=true: node address and metadata refused (EPERM), own loopback works"
  "containerd: bridge pod without the annotation reaches the node (control)"
  "containerd: host-network pod, jail.block-host=true: 127.0.0.1 refused (EPERM)"
  "containerd: host-network pod without the annotation reaches 127.0.0.1 (control)"
  "containerd: StopContainer/RemovePodSandbox leave nothing: no enforced container, bpftool link count as before"
)
# After a failed setup every check still gets its line, so the count never changes.
fail_rest() {
  while ((n < ${#names[@]})); do not_ok "${names[n]}" "$1"; done
  exit 0
}

# --- setup -------------------------------------------------------------------------------
setup() {
  local missing=() c
  for c in containerd ctr runc jq bpftool python3 busybox systemctl journalctl; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [[ -n $cri_dir ]] || missing+=("tests/vm/cri/cri.py")
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] ||
    missing+=("containernetworking-plugins")
  [[ -x $hook ]] || missing+=("$hook")
  [[ -x $probe ]] || missing+=("$probe")
  python3 -c 'import grpc, grpc_tools' 2>/dev/null || missing+=("python3-grpcio/python3-grpc-tools")
  ((${#missing[@]} == 0)) || { echo "missing: ${missing[*]}"; return 1; }

  # The shipped file is the one under test: each of its settings must be in ours, unchanged.
  local shipped=$src/deploy/containerd/config-1.7.toml
  [[ -f $shipped ]] || { echo "no $shipped"; return 1; }
  python3 - "$shipped" "$cri_dir/containerd-config.toml" <<'PY' || return 1
import sys, tomllib
def flat(d, p=()):
    for k, v in d.items():
        yield from flat(v, p + (k,)) if isinstance(v, dict) else [(p + (k,), v)]
shipped = dict(flat(tomllib.load(open(sys.argv[1], "rb"))))
ours = dict(flat(tomllib.load(open(sys.argv[2], "rb"))))
bad = [".".join(k) for k, v in shipped.items() if ours.get(k) != v]
if bad:
    print("the test config differs from deploy/containerd/config-1.7.toml in: " + ", ".join(bad))
    sys.exit(1)
PY

  install -m 0644 "$cri_dir/containerd-config.toml" /etc/containerd/config.toml
  sh "$cri_dir/base-spec.sh" >"$work/base-spec.json" || { echo "base-spec.sh failed"; return 1; }
  install -m 0644 "$work/base-spec.json" /etc/containerd/oci-jail-hook-base-spec.json
  mkdir -p /etc/cni/net.d
  # A bridge of its own, apart from podman's podman0 (10.88.0.0/16) in the same guest; its
  # gateway is a node address, which a jailed pod must be refused.
  cat >/etc/cni/net.d/10-ojh-cri.conflist <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ojh-cri",
  "plugins": [
    {
      "type": "bridge", "bridge": "ojhcni0", "isGateway": true, "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "10.77.0.0/24", "gateway": "$gateway"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  local others
  others=$(find /etc/cni/net.d -maxdepth 1 -type f ! -name 10-ojh-cri.conflist)
  [[ -z $others ]] || { echo "other CNI configs would be picked first: $others"; return 1; }

  systemctl restart containerd || { echo "systemctl restart containerd failed"; return 1; }
  local i version=
  for ((i = 0; i < 60; i++)); do
    version=$(cri --timeout 5 version 2>/dev/null) && break
    sleep 1
  done
  [[ -n $version ]] || { echo "containerd's CRI does not answer: $(journalctl -u containerd -n 5 -o cat | tr '\n' ' ')"; return 1; }
  note "CRI: $version"
  # What a node admin checks (docs/containerd.md): the effective configuration.
  local dump
  dump=$(containerd config dump 2>/dev/null)
  grep -q 'pod_annotations = \["jail.block-host", "jail.block-host.\*"\]' <<<"$dump" ||
    { echo "containerd config dump lacks pod_annotations"; return 1; }
  grep -q 'base_runtime_spec = "/etc/containerd/oci-jail-hook-base-spec.json"' <<<"$dump" ||
    { echo "containerd config dump lacks base_runtime_spec"; return 1; }
  [[ -S /var/run/nri/nri.sock ]] || { echo "NRI enabled but no /var/run/nri/nri.sock"; return 1; }

  python3 "$cri_dir/oci_image.py" "$work/image.tar" "$image" --busybox "$(command -v busybox)" \
    --add "$probe:/bin/jail-probe" -- /bin/sleep 2147483647 || { echo "oci_image.py failed"; return 1; }
  ctr -n k8s.io images import "$work/image.tar" >"$work/import.log" 2>&1 ||
    { echo "ctr images import: $(tail -n 2 "$work/import.log" | tr '\n' ' ')"; return 1; }
  cri image-status "$image" >/dev/null || { echo "the CRI does not see $image"; return 1; }

  "$probe" listen tcp 0.0.0.0 "$port" "$work/arrivals.log" >"$work/listener.out" 2>&1 &
  listener=$!
  for ((i = 0; i < 50; i++)); do
    grep -q listening "$work/listener.out" && return 0
    sleep 0.2
  done
  echo "the node's listener on port $port did not start: $(cat "$work/listener.out")"
  return 1
}

t0=$SECONDS
# Not in a subshell: the listener's pid must reach the EXIT trap.
if ! setup >"$work/setup.log" 2>&1; then
  not_ok "${names[0]}" "$(tail -n 1 "$work/setup.log")"
  fail_rest "setup failed"
fi
note "$(cat "$work/setup.log")"
ok "${names[0]}"
note "setup took $((SECONDS - t0)) s"
# The node's own links (systemd's) are the baseline; the pods must leave it as they found it.
baseline=$(links)
have_metadata=0
ip -4 -o addr show | grep -q " $metadata/" && have_metadata=1

# --- pods --------------------------------------------------------------------------------
# run_pod NAME NETWORK ANNOTATED TARGET... — one pod whose container probes each TARGET on
# the node's port, then its own loopback (bridge pods only), prints "probe-done" and stays
# up, so that `oci-jail-hook status` can be read while it runs. Leaves the up JSON in
# $work/NAME.json. The single-quoted $ are the container's shell's to expand.
# shellcheck disable=SC2016
run_pod() {
  local name=$1 network=$2 annotated=$3 t script=
  shift 3
  for t in "$@"; do script+="jail-probe connect tcp $t $port $name-$t; "; done
  if [[ $network == bridge ]]; then
    script+='jail-probe listen tcp 127.0.0.1 18081 /dev/null >/dev/null & i=0; '
    # The listener needs a moment to bind: "refused" until then.
    script+='while :; do r=$(jail-probe connect tcp 127.0.0.1 18081); case $r in *refused*) '
    script+='[ $i -lt 40 ] || break; i=$((i+1)); sleep 0.25;; *) break;; esac; done; echo "$r"; '
  fi
  script+='echo probe-done; exec sleep 2147483647'
  local args=(up --name "$name" --label "$label" --container-name probe --image "$image"
    --user 65534 --marker probe-done)
  [[ $network == host ]] && args+=(--host-network)
  [[ $annotated == yes ]] && args+=(--annotation jail.block-host=true)
  local start=$SECONDS
  cri "${args[@]}" -- /bin/sh -c "$script" >"$work/$name.json" 2>"$work/$name.err"
  note "$name: up in $((SECONDS - start)) s: $(jq -c '{pod, container, failed, error, state, log}' "$work/$name.json" 2>/dev/null || cat "$work/$name.err")"
}

# down NAME — the kubelet's teardown of run_pod's pod.
down() {
  local pod ctr
  pod=$(jq -r '.pod // empty' "$work/$1.json" 2>/dev/null)
  ctr=$(jq -r '.container // empty' "$work/$1.json" 2>/dev/null)
  [[ -n $pod ]] || return 0
  cri down "$pod" ${ctr:+--container "$ctr"} 2>&1 | sed 's/^/# /'
}

# result NAME TARGET — what the container's probe of TARGET printed (blocked, reached, ...).
result() {
  jq -r --arg p "connect tcp $2 " '.log[]? | select(startswith($p)) | sub("^[^:]*: "; "")' \
    "$work/$1.json" 2>/dev/null | head -n 1
}
field() { jq -r "$2 // empty" "$work/$1.json" 2>/dev/null; }
arrived() { grep -qF ": probe $1-$2" "$work/arrivals.log"; }

# expect NAME WANT TARGET... — empty when each probe printed WANT and the node's listener log
# agrees (an arrival for every "reached", none for "blocked"); else the first difference.
expect() {
  local name=$1 want=$2 t got
  shift 2
  for t in "$@"; do
    got=$(result "$name" "$t")
    [[ $got == "$want"* ]] || { echo "$t: ${got:-no probe result}"; return; }
    if [[ $want == reached ]] && ! arrived "$name" "$t"; then echo "$t: no arrival at the node"; return; fi
    if [[ $want == blocked* ]] && arrived "$name" "$t"; then echo "$t: blocked but arrived"; return; fi
  done
}

# start_failure NAME — containerd's words when the pod did not come up.
start_failure() {
  local failed error
  failed=$(field "$1" .failed)
  error=$(field "$1" .error)
  [[ -n $failed || -n $error ]] || { [[ -s $work/$1.err ]] && tail -n 1 "$work/$1.err"; return; }
  # runc quotes the hook's stderr; its one line is the cause worth reading.
  if [[ $error == *"oci-jail-hook: container "* ]]; then
    local line="oci-jail-hook: container ${error#*oci-jail-hook: container }"
    line=${line%%$'\n'*}
    line=${line%%'\n'*}
    echo "$failed refused by the hook: ${line%: unknown}"
  else
    echo "$failed: ${error:0:300}"
  fi
}

targets_bridge=("$gateway")
((have_metadata)) && targets_bridge+=("$metadata")
((have_metadata)) || note "no $metadata on the node: the metadata probe is left out"

# 1. The annotated bridge pod: plumbing, then enforcement.
since=$(date +%s)
run_pod cri-jailed bridge yes "${targets_bridge[@]}"
jailed_ctr=$(field cri-jailed .container)
enforced_while_running=$(enforced_ids)
plumb=()
[[ $(field cri-jailed '.hooks.createRuntime[0].path') == "$hook" &&
  $(field cri-jailed '.hooks.createRuntime[0].args[1]') == create-runtime ]] ||
  plumb+=("no createRuntime hook in the container's OCI spec")
[[ $(field cri-jailed '.hooks.poststop[0].args[1]') == poststop ]] ||
  plumb+=("no poststop hook in the container's OCI spec")
[[ $(field cri-jailed '.annotations["jail.block-host"]') == true ]] ||
  plumb+=("jail.block-host not in the container's OCI annotations")
hook_said=
if [[ -n $jailed_ctr ]]; then
  hook_said=$(journalctl -t oci-jail-hook --since "@$since" -o cat 2>/dev/null |
    grep -F "container $jailed_ctr:" | head -n 1)
  [[ -z $hook_said ]] && hook_said=$(start_failure cri-jailed | grep -F "container $jailed_ctr:")
fi
[[ -n $hook_said ]] || plumb+=("no line of the hook about container ${jailed_ctr:-?}")
if ((${#plumb[@]} == 0)); then
  ok "${names[1]}"
  note "the hook: $hook_said"
  note "cgroup: $(field cri-jailed .cgroups_path)"
  note "the pod's sandbox (pause) container: hooks $(field cri-jailed '.sandbox_hooks | tojson')"
else
  not_ok "${names[1]}" "$(IFS=';'; echo "${plumb[*]}")$( [[ -z $jailed_ctr ]] && echo "; $(start_failure cri-jailed)")"
fi

cause=$(start_failure cri-jailed)
if [[ -z $cause ]]; then
  cause=$(expect cri-jailed "blocked EPERM" "${targets_bridge[@]}")
  [[ -z $cause ]] && { got=$(field cri-jailed '.log[] | select(startswith("connect tcp 127.0.0.1 18081"))');
    [[ $got == *": reached"* ]] || cause="own loopback: ${got:-no probe result}"; }
  [[ -z $cause ]] && ! grep -qx "$jailed_ctr" <<<"$enforced_while_running" &&
    cause="oci-jail-hook status does not list $jailed_ctr"
fi
verdict "${names[2]}" "$cause"
down cri-jailed

# 2. The bridge control.
run_pod cri-open bridge no "${targets_bridge[@]}"
cause=$(start_failure cri-open)
[[ -z $cause ]] && cause=$(expect cri-open reached "${targets_bridge[@]}")
open_ctr=$(field cri-open .container)
[[ -z $cause && -n $open_ctr ]] && grep -qx "$open_ctr" <<<"$(enforced_ids)" &&
  cause="enforced without the annotation"
verdict "${names[3]}" "$cause"
down cri-open

# 3. Host network: the node's loopback is the node's.
run_pod cri-jailed-host host yes 127.0.0.1
cause=$(start_failure cri-jailed-host)
[[ -z $cause ]] && cause=$(expect cri-jailed-host "blocked EPERM" 127.0.0.1)
verdict "${names[4]}" "$cause"
down cri-jailed-host

run_pod cri-open-host host no 127.0.0.1
cause=$(start_failure cri-open-host)
[[ -z $cause ]] && cause=$(expect cri-open-host reached 127.0.0.1)
verdict "${names[5]}" "$cause"
down cri-open-host

# 4. Nothing left behind.
left=$(cri cleanup --label "$label" 2>&1)
cause=
[[ -n $left ]] && cause="pods left after teardown: $(tr '\n' ' ' <<<"$left")"
still=$(enforced_ids)
[[ -z $cause && -n $still ]] && cause="still enforced: $(tr '\n' ' ' <<<"$still")"
now=$(links)
[[ -z $cause && $now != "$baseline" ]] && cause="bpftool link list: $now links, $baseline before"
verdict "${names[6]}" "$cause"
note "containerd scenario took $((SECONDS - t0)) s"
