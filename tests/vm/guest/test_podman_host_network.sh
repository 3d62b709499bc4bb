#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Rootful podman with --network=host: the container shares the guest's network namespace,
# so the host's loopback is a way out too. Enforced: 127.0.0.1, ::1, v4-mapped
# ::ffff:127.0.0.1, the dummy "uplink" v4 and v6, 169.254.169.254 and 169.254.1.2 are
# refused with EPERM over TCP and UDP. The control reaches every one of them.
# AF_UNIX (issue 13): the guest's abstract sockets are shared with such a container; the
# enforced one gets EPERM towards them (stream connect, datagram sendto), the control
# reaches them. Guest kernel 6.12 has the cgroup AF_UNIX hooks.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ADDRS="127.0.0.1 ::1 ::ffff:127.0.0.1 $DUMMY_V4 $DUMMY_V6 $METADATA $PASTA_HOST"

host_network_enforced() { enforced_run crun-host no "$ADDRS" --network=host; }
host_network_control() { control_run host-control no "$ADDRS" --network=host; }

# An abstract stream and datagram socket of the guest (the "host"), logging to $LISTEN_LOG.
"$PROBE" unix-listen stream @ojh-vm-abstract "$LISTEN_LOG" >/dev/null 2>&1 &
UNIX_LISTENERS=$!
"$PROBE" unix-listen dgram @ojh-vm-abstract-dg "$LISTEN_LOG" >/dev/null 2>&1 &
UNIX_LISTENERS="$UNIX_LISTENERS $!"
trap 'kill $UNIX_LISTENERS 2>/dev/null || true' EXIT
sleep 0.5

unix_specs() {  # TAG
  printf '%s\n' "unix-connect stream @ojh-vm-abstract $1/unix-stream" \
    "unix-sendto dgram @ojh-vm-abstract-dg $1/unix-dgram"
}

# expect_unix TAG reached|"blocked EPERM" — jail-probe's verdict for each AF_UNIX spec, and
# whether the guest's listener logged it.
expect_unix() {
  local tag=$1 want=$2 spec words line i
  while read -r spec; do
    read -ra words <<<"$spec"
    line=$(grep -F -- "${words[*]:0:3}: " "$STATE/$tag.out" | head -n 1)
    [[ $line == *": $want" ]] || fail "$tag: ${words[*]:0:3} should be $want, got: ${line:-no result}"
    if [[ $want == reached ]]; then
      for ((i = 0; i < 20; i++)); do arrived "${words[3]}" && break; sleep 0.1; done
      arrived "${words[3]}" || fail "$tag: ${words[*]:0:3} reached, but the listener never logged it"
    elif arrived "${words[3]}"; then
      fail "$tag: ${words[*]:0:3} got EPERM, yet the listener logged it"
    fi
  done < <(unix_specs "$tag")
}

unix_enforced() {
  local specs
  mapfile -t specs < <(unix_specs crun-host-unix)
  probes_run crun-host-unix "${ENFORCE[@]}" --network=host -- "${specs[@]}" || return 0
  expect_unix crun-host-unix "blocked EPERM"
  "$HOOK" status --json | jq -e '.unix.enforced == true' >/dev/null ||
    fail "status --json does not say unix.enforced: $("$HOOK" status --json | jq -c .unix)"
}
unix_control() {
  local specs
  mapfile -t specs < <(unix_specs host-control-unix)
  probes_run host-control-unix --network=host -- "${specs[@]}" || return 0
  expect_unix host-control-unix reached
}

scenario "podman crun, --network=host: host loopback and addresses refused with EPERM (TCP, UDP), released after run --rm" host_network_enforced
scenario "podman crun, --network=host, no annotation (control): the same addresses reached" host_network_control
scenario "podman crun, --network=host: the guest's abstract AF_UNIX sockets refused with EPERM (stream connect, dgram sendto)" unix_enforced
scenario "podman crun, --network=host, no annotation (control): the guest's abstract AF_UNIX sockets reached" unix_control
