#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317  # checks are called through h_wait_until and eval
#
# podman 5 writes the resolv.conf it bind-mounts into a container after the createRuntime
# hooks (seen in the VM tier: aardvark-dns's gateway got no DNS exception). A synthetic
# container whose config.json bind-mounts an empty resolv.conf is enforced; create-runtime
# returns at once (holding none of the caller's pipes); DNS to the fake host stays refused
# until the file names it; once written, port 53 of that nameserver opens within a second
# while the rest of the host stays refused.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

h_synthetic_view "$@"

# udp53 — a connected UDP socket to the fake host's port 53 from the container: 1 = EPERM.
udp53() {
  local rc=0
  h_probe_from "$E2E_CT_NETNS" "$H_CG2/c1" connect udp "$E2E_HOST_V4" 53 || rc=$?
  echo "$rc"
}
dns_open() { [[ $(udp53) != 1 ]]; }

mkdir -p "$W/bundle"
: >"$W/resolv.conf"
jq -n --arg src "$W/resolv.conf" '{ociVersion: "1.0.2", mounts: [{destination: "/etc/resolv.conf",
  type: "bind", source: $src, options: ["bind", "ro"]}]}' >"$W/bundle/config.json"
start=$SECONDS
h_enforced c1 "$W/bundle"
e2e_check "create-runtime returns at once with an empty resolv.conf ($((SECONDS - start)) s)" \
  test $((SECONDS - start)) -le 3

e2e_check "before resolv.conf is written, DNS to the host is refused" test "$(udp53)" == 1
echo "nameserver $E2E_HOST_V4" >"$W/resolv.conf"
e2e_check "once it names $E2E_HOST_V4, port 53 there opens within a second" h_wait_until 1 dns_open
e2e_check "status lists the exceptions" eval \
  "h_hook status --json | jq -e --arg e 'udp:$E2E_HOST_V4:53' '.containers[0].exceptions | index(\$e)' >/dev/null"
rc=0
h_probe_from "$E2E_CT_NETNS" "$H_CG2/c1" connect tcp "$E2E_HOST_V4" 8080 || rc=$?
e2e_check "other ports of the same host address stay refused" test "$rc" == 1
e2e_finish
