#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The guest's side of the VM tier, started by ojh-vm-tests.service from the 9p share once
# the guest has booted; the guest powers off when it returns. Sets up what every test file
# relies on (see lib.sh), runs each /share/test_*.sh in name order, and writes
# /share/results: tap (one line per scenario), logs/, info.txt, journal.txt and, last,
# done — the host judges a run without it as unfinished.
set -euo pipefail
cd /share
# shellcheck source=lib.sh
source ./lib.sh

mkdir -p "$RESULTS/logs" "$STATE"
: >"$RESULTS/tap"
exec >>"$RESULTS/run-guest.log" 2>&1
# A broken setup must say so in the results, not only by a missing "done".
trap 'echo "Bail out! run-guest.sh failed at line $LINENO (run-guest.log)" >>"$RESULTS/tap"' ERR

record_info() {
  {
    echo "kernel: $(uname -r)"
    echo "systemd: $(systemctl --version | head -n 1)"
    echo "podman: $(podman version --format '{{.Client.Version}}')"
    echo "crun: $(crun --version | head -n 1)"
    echo "runc: $(runc --version | head -n 1)"
    echo "netavark: $(/usr/lib/podman/netavark --version 2>/dev/null || echo ?)"
    echo "containerd: $(containerd --version 2>/dev/null || echo ?)"
    echo "cgroup: $(stat -f -c %T /sys/fs/cgroup)"
    echo "cgroup manager: $(podman info --format '{{.Host.CgroupManager}}')"
    echo "network backend: $(podman info --format '{{.Host.NetworkBackend}}')"
    echo "passt: $(dpkg-query -W -f '${Version}' passt 2>/dev/null || echo ?)"
    echo "lsm: $(cat /sys/kernel/security/lsm 2>/dev/null || echo ?)"
    echo "hook: $("$HOOK" --version 2>&1 | head -n 1)"
  } >"$RESULTS/info.txt" 2>&1
}

# The guest's "uplink": documentation addresses, the cloud metadata address and pasta's
# host address, all on a dummy interface — -nic none means no real one exists.
setup_network() {
  ip link add ojh0 type dummy
  ip link set ojh0 up
  ip addr add "$DUMMY_V4/24" dev ojh0
  ip addr add "$METADATA/32" dev ojh0
  ip addr add "$PASTA_HOST/32" dev ojh0
  ip addr add "$DUMMY_V6/64" dev ojh0 nodad
}

# One listener per protocol and family on the wildcard address: it takes every address
# of the guest (loopback, ojh0, bridge gateways made later), and the payload tag in its log
# says which probe arrived where.
setup_listeners() {
  local proto addr out
  : >"$LISTEN_LOG"
  for proto in tcp udp; do
    for addr in 0.0.0.0 ::; do
      out=$STATE/listener-$proto-${addr//:/6}.out
      "$PROBE" listen "$proto" "$addr" "$PORT" "$LISTEN_LOG" >"$out" 2>&1 &
      for ((i = 0; i < 50; i++)); do grep -q listening "$out" && break; sleep 0.1; done
      grep -q listening "$out" || { cat "$out"; return 1; }
    done
  done
}

# The containers' image: busybox-static with its applets, jail-probe and ojh-probes,
# imported from a tarball, as no registry is reachable; root's, and each ordinary user's in
# its rootless storage, once its user manager (started at boot: lingering) is up.
setup_image() {
  local root=$STATE/busybox user
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp /bin/busybox "$PROBE" "$root/bin/"
  cp /share/ojh-probes "$root/bin/ojh-probes"
  /bin/busybox --list | while read -r applet; do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
  done
  tar -C "$root" -c . | podman import -q - "$IMAGE" >/dev/null
  local pids=() pid
  for user in "${ROOTLESS_USERS[@]}"; do
    (
      systemctl start "user@$(id -u "$user").service"
      tar -C "$root" -c . | as_user "$user" podman import -q - "$IMAGE" >/dev/null
    ) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

start=$SECONDS
record_info
setup_network
setup_listeners
setup_image
log "setup done in $((SECONDS - start)) s; hook links at start: $(hook_links)"

for test in /share/test_*.sh; do
  name=${test##*/}
  t0=$SECONDS
  log "running $name"
  rc=0
  bash "$test" >"$RESULTS/logs/${name%.sh}.out" 2>&1 || rc=$?
  log "$name: exit $rc after $((SECONDS - t0)) s"
  if ((rc != 0)); then
    echo "not ok $(($(grep -c '^\(not \)\?ok ' "$RESULTS/tap") + 1)) - $name # exited with status $rc" \
      >>"$RESULTS/tap"
  fi
done

journalctl -b --no-pager -o short-monotonic >"$RESULTS/journal.txt" 2>&1 || true
echo "1..$(grep -c '^\(not \)\?ok ' "$RESULTS/tap")" >>"$RESULTS/tap"
echo "$((SECONDS - start))" >"$RESULTS/done"
