#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The DNAT bypass (issue 12): a container that holds CAP_NET_ADMIN adds nftables DNAT rules
# in its own network namespace, so that packets to the foreign 203.0.113.7 and
# 2001:db8:7::7 (which connect/sendmsg allow) leave rewritten to the fake host's
# 10.200.0.1 and fd00:200::1. Through real runc containers in the container netns:
#
#   refused  CAP_NET_ADMIN without `allow-capabilities = CAP_NET_ADMIN`: the hook refuses the
#            container, its command never runs.
#   control  an enforced container WITHOUT CAP_NET_ADMIN, with the same DNAT rules put into
#            its netns by the test: its TCP and UDP (v4 and v6) reach the fake host's
#            listeners — the rules work, and connect/sendmsg alone cannot see through them.
#            A host client reaches the container's server.
#   flagged  CAP_NET_ADMIN accepted by the admin config: the container adds the DNAT rules
#            itself with nft, and nothing of its TCP or UDP (v4 and v6) arrives at the fake
#            host: the hook had the egress program judge every packet of it, after NAT. The
#            documented price: a host client cannot reach the container's server (the reply
#            to a host address is refused), and on kernels before 6.15 (compat egress) its
#            own loopback is refused over TCP and UDP as well.
#   late     an accepted risk, reported as RISK lines (neither pass nor fail): the same
#            container rewrites the destination in an nftables netdev egress chain of its
#            interface, which runs after every cgroup program; the UDP datagrams that reach
#            the fake host that way are what accepting CAP_NET_ADMIN still leaves open.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || e2e_skip "nft not installed (scripts/deps.sh installs nftables)"
command -v ldd >/dev/null || e2e_skip "ldd not installed (needed to copy nft into the rootfs)"
e2e_runc_view "$@"
PORT=18150      # the fake host's listeners, which the DNAT rules lead to
SRV_PORT=18151  # the container's server, for a host client
OWN_PORT=18152  # the container's own loopback
FOREIGN_V4=203.0.113.7
FOREIGN_V6=2001:db8:7::7
# Without the rules these go to the fake host, which owns neither and does not forward.
_e2e_ip "$E2E_CT_NS" route add "$FOREIGN_V4/32" via "$E2E_HOST_V4"
_e2e_ip "$E2E_CT_NS" -6 route add "$FOREIGN_V6/128" via "$E2E_HOST_V6"

declare -A LOG
for proto in tcp udp; do
  for addr in "$E2E_HOST_V4" "$E2E_HOST_V6"; do
    e2e_listen "$E2E_HOST_NETNS" "$proto" "$addr" "$PORT"
    LOG[$proto-$addr]=$E2E_LISTEN_LOG
  done
done

DNAT_RULES=$W/dnat.nft
cat >"$DNAT_RULES" <<EOF
table ip ojh_dnat4 {
  chain out {
    type nat hook output priority -100; policy accept;
    ip daddr $FOREIGN_V4 dnat to $E2E_HOST_V4
  }
}
table ip6 ojh_dnat6 {
  chain out {
    type nat hook output priority -100; policy accept;
    ip6 daddr $FOREIGN_V6 dnat to $E2E_HOST_V6
  }
}
EOF

# The busybox rootfs plus nft and the libraries it loads, for the container to run it.
NFT_ROOTFS=$W/rootfs-nft
cp -a "$E2E_ROOTFS" "$NFT_ROOTFS"
cp "$(command -v nft)" "$NFT_ROOTFS/bin/nft"
while read -r lib; do
  mkdir -p "$NFT_ROOTFS${lib%/*}"
  cp -L "$lib" "$NFT_ROOTFS$lib"
done < <(ldd "$(command -v nft)" | grep -o '/[^ ]*')
cp "$DNAT_RULES" "$NFT_ROOTFS/etc/dnat.nft"
cat >"$NFT_ROOTFS/etc/late.nft" <<EOF
table netdev ojh_late {
  chain out {
    type filter hook egress device "vc" priority 0; policy accept;
    ip daddr $FOREIGN_V4 ip daddr set $E2E_HOST_V4
    ip6 daddr $FOREIGN_V6 ip6 daddr set $E2E_HOST_V6
  }
}
EOF

# The admin accepts CAP_NET_ADMIN; its hooks.d copies run the hook with `--config`.
ADMIN_CONF=$W/allow-net-admin.conf
printf '%s\n' '# containers holding CAP_NET_ADMIN are accepted (docs/policy.md)' \
  'allow-capabilities = CAP_NET_ADMIN' >"$ADMIN_CONF"
if ! chown 0:0 "$ADMIN_CONF" || ! chmod 0644 "$ADMIN_CONF"; then
  e2e_die "making $ADMIN_CONF root-owned 0644"
fi
DEFAULT_HOOKS=$HOOKS_DIR
NET_ADMIN_HOOKS=$W/hooks-net-admin
mkdir -p "$NET_ADMIN_HOOKS"
for file in "$DEFAULT_HOOKS"/*.json; do
  jq --arg conf "$ADMIN_CONF" '.hook.args = [.hook.args[0], "--config", $conf] + .hook.args[1:]' \
    "$file" >"$NET_ADMIN_HOOKS/${file##*/}" || e2e_die "adding --config to $file"
done

# The container's script: its server and own listeners, the rules of RULES-FILE (a path in
# the container, "-" for none), the probes through them, then it serves a host client until
# the test says it is done.
container_script() {  # RUN RULES-FILE
  local run=$1 dest proto
  cat <<EOF
echo container-started
jail-probe listen tcp $E2E_CT_V4 $SRV_PORT /tmp/srv.log >/tmp/ready 2>&1 &
pids=\$!
for l in "tcp 127.0.0.1" "udp 127.0.0.1"; do
  jail-probe listen \$l $OWN_PORT /tmp/own.log >>/tmp/ready 2>&1 &
  pids="\$pids \$!"
done
i=0
while [ "\$(grep -c listening /tmp/ready)" -lt 3 ] && [ \$i -lt 50 ]; do
  sleep 0.1; i=\$((i + 1))
done
EOF
  if [[ $2 != - ]]; then
    echo "if nft -f $2; then echo dnat-rules-added; else echo dnat-rules-failed; fi"
  fi
  for dest in "$FOREIGN_V4" "$FOREIGN_V6"; do
    echo "jail-probe connect tcp $dest $PORT '$run/tcp/$dest' || true"
    echo "jail-probe sendto udp $dest $PORT '$run/udp/$dest' || true"
  done
  for proto in "connect tcp" "sendto udp"; do
    echo "jail-probe $proto 127.0.0.1 $OWN_PORT '$run/own/$proto' || true"
  done
  cat <<EOF
touch /markers/$run.serving
i=0
while [ ! -e /markers/$run.probed ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
sleep 0.5
sed 's/^/own-log: /' /tmp/own.log
sed 's/^/srv-log: /' /tmp/srv.log
kill \$pids
echo container-done
EOF
}

# bundle RUN HOOKS-DIR RULES-FILE [CAP] — a container in the container netns, enforced.
bundle() {
  e2e_make_bundle "dnat-$1" own true "$(container_script "$1" "$3")"
  e2e_bundle_bind "$MARKERS" /markers
  if [[ -n ${4:-} ]]; then
    # shellcheck disable=SC2016  # a jq program
    _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg cap "$4" --arg rootfs "$NFT_ROOTFS" '
      .process.capabilities |= with_entries(.value |= (. + [$cap] | unique))
      | .root.path = $rootfs' || e2e_die "adding $4 to $E2E_BUNDLE"
  fi
  HOOKS_DIR=$2 e2e_bundle_wire_hooks
}

# run_serving RUN ID — runs E2E_BUNDLE; while it serves, a host client (the fake host) tries
# its server: sets HOST_CLIENT to the probe's line. Its output is in $W/RUN.out.
run_serving() {
  local run=$1 id=$2 out=$W/$1.out pid i rc=0
  e2e_defer "e2e_runc delete -f '$id'"
  e2e_runc run --bundle "$E2E_BUNDLE" "$id" </dev/null >"$out" 2>&1 &
  pid=$!
  for ((i = 0; i < 200; i++)); do
    [[ -e $MARKERS/$run.serving ]] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.1
  done
  HOST_CLIENT=$(e2e_in_netns "$E2E_HOST_NETNS" "$PROBE" connect tcp "$E2E_CT_V4" "$SRV_PORT" \
    "$run/host-client" 2>&1) || true
  touch "$MARKERS/$run.probed"
  wait "$pid" || rc=$?
  if [[ $rc == 0 ]]; then
    e2e_pass "$run: runc run succeeded"
  else
    e2e_fail "$run: runc run failed (exit $rc): $(tail -n 3 "$out" | tr '\n' ' ')"
  fi
  e2e_check "$run: the container ran to its end" grep -qx container-done "$out"
}

barriers() {
  local proto addr
  for proto in tcp udp; do
    for addr in "$E2E_HOST_V4" "$E2E_HOST_V6"; do
      e2e_listener_barrier "$E2E_HOST_NETNS" "$proto" "$addr" "$PORT" "${LOG[$proto-$addr]}"
    done
  done
}

# expect_host RUN reached|blocked — the probes through the DNAT rules, and what arrived.
expect_host() {
  local run=$1 out=$W/$1.out tcp=reached udp=reached arrive=yes dest target
  if [[ $2 == blocked ]]; then
    tcp=timeout  # the SYN is dropped at egress: connect() never completes
    udp="blocked EPERM"
    arrive=no
  fi
  barriers
  for dest in "$FOREIGN_V4" "$FOREIGN_V6"; do
    target=$E2E_HOST_V4
    [[ $dest == *:* ]] && target=$E2E_HOST_V6
    e2e_expect_line "$out" "connect tcp $dest $PORT: $tcp" "$run: connect tcp $dest → $tcp"
    e2e_expect_line "$out" "sendto udp $dest $PORT: $udp" "$run: sendto udp $dest → $udp"
    e2e_expect_arrival "${LOG[tcp-$target]}" "$run/tcp/$dest" "$arrive" \
      "$run: tcp to $dest (DNAT to $target)"
    e2e_expect_arrival "${LOG[udp-$target]}" "$run/udp/$dest" "$arrive" \
      "$run: udp to $dest (DNAT to $target)"
  done
}

# expect_own RUN reached|blocked — the container's own loopback, TCP and UDP.
expect_own() {
  local run=$1 out=$W/$1.out own_log=$W/$1.own.log tcp=reached udp=reached arrive=yes
  if [[ $2 == blocked ]]; then
    tcp=timeout
    udp="blocked EPERM"
    arrive=no
  fi
  sed -n 's/^own-log: //p' "$out" >"$own_log"
  e2e_expect_line "$out" "connect tcp 127.0.0.1 $OWN_PORT: $tcp" "$run: own loopback tcp → $tcp"
  e2e_expect_line "$out" "sendto udp 127.0.0.1 $OWN_PORT: $udp" "$run: own loopback udp → $udp"
  e2e_expect_arrival "$own_log" "$run/own/connect tcp" "$arrive" "$run: own loopback tcp"
  e2e_expect_arrival "$own_log" "$run/own/sendto udp" "$arrive" "$run: own loopback udp"
}

# expect_host_client RUN reached|timeout — what the host client's probe said, and whether
# it arrived at the container's server.
expect_host_client() {
  local run=$1 srv_log=$W/$1.srv.log arrive=yes
  [[ $2 == reached ]] || arrive=no
  sed -n 's/^srv-log: //p' "$W/$run.out" >"$srv_log"
  if [[ $HOST_CLIENT == "connect tcp $E2E_CT_V4 $SRV_PORT: $2" ]]; then
    e2e_pass "$run: a host client's connect to the container's server → $2"
  else
    e2e_fail "$run: a host client's connect to the container's server: expected '$2', got '$HOST_CLIENT'"
  fi
  e2e_expect_arrival "$srv_log" "$run/host-client" "$arrive" "$run: the host client's payload"
}

ct_nft() { e2e_in_netns "$E2E_CT_NETNS" nft "$@"; }

# ---------------------------------------------------------------------------------------
# refused: CAP_NET_ADMIN needs the admin's consent.
bundle refused "$DEFAULT_HOOKS" /etc/dnat.nft CAP_NET_ADMIN
rc=0
e2e_runc_run "ojh-dnat-$$-refused" "$E2E_BUNDLE" "$W/refused.out" || rc=$?
e2e_check "refused: runc run failed (exit $rc)" test "$rc" != 0
e2e_check "refused: the hook names CAP_NET_ADMIN and allow-capabilities" \
  grep -qF "the container may hold CAP_NET_ADMIN, which can get around cgroup BPF" "$W/refused.out"
e2e_check "refused: the container's command never ran" \
  test "$(grep -c container-started "$W/refused.out")" == 0

# control: the rules, put in by the test, lead an unflagged enforced container to the host.
ct_nft -f "$DNAT_RULES" || e2e_die "adding the DNAT rules to $E2E_CT_NS"
bundle control "$DEFAULT_HOOKS" -
run_serving control "ojh-dnat-$$-control"
expect_host control reached
expect_own control reached
expect_host_client control reached
ct_nft flush ruleset || e2e_die "flushing the rules of $E2E_CT_NS"

# flagged: the container holds CAP_NET_ADMIN (accepted) and adds the rules itself.
bundle flagged "$NET_ADMIN_HOOKS" /etc/dnat.nft CAP_NET_ADMIN
run_serving flagged "ojh-dnat-$$-flagged"
e2e_check "flagged: the container added the DNAT rules itself" \
  grep -qx dnat-rules-added "$W/flagged.out"
e2e_check "flagged: its rules are in its netns" \
  sh -c "nsenter --net='$E2E_CT_NETNS' nft list ruleset | grep -q 'dnat to $E2E_HOST_V4'"
expect_host flagged blocked
EGRESS=$("$HOOK" status --json | jq -r .egress)
case $EGRESS in
  netns-aware) expect_own flagged reached ;;
  compat) expect_own flagged blocked ;;  # documented: the compat program sees no netns
  *) e2e_fail "flagged: status --json names no egress program ('$EGRESS')" ;;
esac
expect_host_client flagged timeout
e2e_check "flagged: released at poststop" \
  test -z "$(e2e_pin_entries "$PIN_DIR" "ojh-dnat-$$-flagged")"
ct_nft flush ruleset || e2e_die "flushing the rules of $E2E_CT_NS"

# late: a rewrite after the cgroup programs. What arrives is the documented price of
# allow-capabilities = CAP_NET_ADMIN (docs/security.md, "Known limits").
bundle late "$NET_ADMIN_HOOKS" /etc/late.nft CAP_NET_ADMIN
run_serving late "ojh-dnat-$$-late"
e2e_check "late: the container added its netdev egress rules" grep -qx dnat-rules-added "$W/late.out"
barriers
for dest in "$FOREIGN_V4" "$FOREIGN_V6"; do
  target=$E2E_HOST_V4
  [[ $dest == *:* ]] && target=$E2E_HOST_V6
  if e2e_logged "${LOG[udp-$target]}" "late/udp/$dest"; then
    printf 'RISK: late: udp to %s, rewritten to %s in netdev egress → reached the host (after every cgroup program; accepted by allow-capabilities = CAP_NET_ADMIN)\n' \
      "$dest" "$target"
  else
    e2e_log "late: udp to $dest did not reach the host"
  fi
done

e2e_finish
