#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The bypass suite: every known way for a container to reach its host (threat-model.md),
# each tried from a real runc container by jail-probe, in three modes:
#   enforce        jail.block-host=true: every host path is blocked (EPERM for socket calls;
#                  EPERM or silence for raw/ping packets) and nothing arrives at the host
#   no annotation  the same probes reach: a probe that cannot reach without the hook is
#                  broken and fails the test
#   audit          jail.block-host=true + jail.block-host.mode=audit: everything reaches and
#                  the hook's per-program "audited" counters rise
# while the controls (the container's own loopback, a peer behind the host) reach in every
# mode. Two topologies: a container sharing the fake host's netns (host loopback, 0.0.0.0,
# ::, v4-mapped) and one with its own netns behind a veth (the host's addresses v4/v6/
# link-local, its broadcast, multicast and anycast addresses, every metadata address,
# v4-mapped forms). Each container runs its probes twice: in its own cgroup, then moved into
# a sub-cgroup of it.
#
# Two bundles, because no cgroup program sees AF_PACKET and the hook therefore refuses a
# container that may hold CAP_NET_RAW unless the admin config accepts it:
#   default policy  no CAP_NET_RAW: every socket-level probe (TCP, UDP, TFO, MPTCP, sendmsg,
#                   dual-stack, broadcast, multicast, anycast, unprivileged ping sockets);
#                   a CAP_NET_RAW container with jail.block-host=true is refused
#   CAP_NET_RAW allowed by admin (allow-capabilities = CAP_NET_RAW, wired with --config)
#                   the same probes with the same outcomes, plus raw ICMP, raw UDP and
#                   IP_HDRINCL probes that the egress backstop must block, and AF_PACKET
#                   probes: the residual risk the admin accepted, reported as RISK lines and
#                   counted apart, never as passes of the block
# Ground truth is the probe's own line and the listeners of the fake host, the peer and the
# container netns's loopback (TCP/UDP/SCTP arrivals, ICMP echo requests); a ping is
# "reached" only with an echo reply. All twelve probe containers run at the same time.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=bypass_lib.sh
source "$(dirname "$0")/bypass_lib.sh"

e2e_runc_view "$@"
bp_setup_topology
BP_CG2=$(e2e_cgroup2_mount) || e2e_die "no cgroup2 mount"
bp_write_admin_config
bp_start_listeners

P=$BP_PORT
O=$BP_OWN_PORT
PEER4=$BP_PEER_V4
PEER6=$BP_PEER_V6
HOST_BCAST_V4=${E2E_HOST_V4%.*}.255   # both host subnets are /24
HOST2_BCAST_V4=${BP_HOST2_V4%.*}.255
HOST_ANYCAST_V6=${E2E_HOST_V6%::*}::  # both host prefixes are /64
HOST2_ANYCAST_V6=${BP_HOST2_V6%::*}::

# ---------------------------------------------------------------------------------------
# Host-netns container: the fake host's loopback is the host's.
# Socket-level probes: no capability needed (ping sockets need only ping_group_range).
HOSTNET_MAIN=()
for d in 127.0.0.1 127.0.0.2 ::1 0.0.0.0 :: ::ffff:127.0.0.1; do
  HOSTNET_MAIN+=("host|connect tcp $d $P" "host|connect udp $d $P" "host|sendto udp $d $P"
    "host|sendto tcp $d $P")
done
HOSTNET_MAIN+=(
  "host|connect tcp ::ffff:127.0.0.2 $P" "host|connect tcp ::ffff:0.0.0.0 $P"
  "host|sendto udp ::ffff:0.0.0.0 $P"
  # sendmsg with msg_name on a dual-stack AF_INET6 socket; an AF_INET address on an
  # AF_INET6 socket; a UDP socket connected to an allowed peer, then sendto the host
  "host|sendmsg udp 127.0.0.1 $P" "host|sendmsg udp ::1 $P" "host|sendmsg udp ::ffff:127.0.0.1 $P"
  "host|sendto-v6sock udp 127.0.0.1 $P"
  "host|udp-connect-sendto $PEER4 127.0.0.1 $P" "host|udp-connect-sendto $PEER6 ::1 $P"
  "host|connect mptcp 127.0.0.1 $P" "host|connect mptcp ::1 $P"
  "host|sctp 127.0.0.1 $P" "host|sctp ::1 $P"
  # Unprivileged ICMP echo (ping sockets)
  "host|dgram-ping 127.0.0.1" "host|dgram-ping 127.0.0.2" "host|dgram-ping ::1"
  "host|dgram-ping 0.0.0.0" "host|dgram-ping-connect 127.0.0.1" "host|dgram-ping-connect ::1"
  # Broadcast and multicast: the host's sockets bound to the wildcard get a looped-back copy
  "host|sendto-bcast udp $HOST_BCAST_V4 $P" "host|sendto-mcast vh 255.255.255.255 $P"
  "host|sendto-mcast vh 224.0.0.1 $P" "host|sendto-mcast vh ff02::1 $P"
  "host|dgram-ping ff02::1%vh"
  # The subnet-router anycast addresses a forwarding host holds for each of its prefixes
  # (UDP and ICMP are delivered to them; TCP is not, so there is no TCP probe)
  "host|sendto udp $HOST_ANYCAST_V6 $P" "host|sendto udp fe80::%vh $P"
  "host|dgram-ping $HOST_ANYCAST_V6"
  # The host's interface and metadata addresses, from inside its netns
  "host|connect tcp $E2E_HOST_V4 $P" "host|connect tcp $E2E_HOST_V6 $P"
  "host|connect tcp $E2E_HOST_LL%vh $P"
  "host|connect tcp ::ffff:$E2E_HOST_V4 $P" "host|sendto udp $E2E_META_V4 $P"
  "host|sendto udp $E2E_META_V6 $P"
  # Controls: a peer behind the host is not the host
  "peer|connect tcp $PEER4 $P" "peer|connect tcp $PEER6 $P" "peer|sendto udp $PEER4 $P"
  "peer|sendto udp $PEER6 $P" "peer|dgram-ping $PEER4" "peer|dgram-ping $PEER6"
)
HOSTNET_SUB=(
  "host|connect tcp 127.0.0.1 $P" "host|connect tcp ::1 $P" "host|sendto udp 127.0.0.1 $P"
  "host|sendto udp ::ffff:127.0.0.1 $P" "host|dgram-ping 127.0.0.1" "host|dgram-ping ::1"
  "host|sendto-mcast vh 224.0.0.1 $P" "peer|connect tcp $PEER4 $P"
)
# With CAP_NET_RAW: no sock_addr hook sees these, the egress backstop must ...
HOSTNET_RAW=(
  "host|ping 127.0.0.1" "host|ping ::1" "host|ping 127.0.0.2" "host|ping 0.0.0.0" "host|ping ::"
  "host|ping ff02::1%vh" "host|ping $HOST_ANYCAST_V6"
  "host|raw-udp 127.0.0.1 $P" "host|raw-udp ::1 $P" "host|raw-udp 0.0.0.0 $P" "host|raw-udp :: $P"
  "host|raw-udp-hdrincl 127.0.0.1 $P" "host|raw-udp-hdrincl ::1 $P"
  # ... except AF_PACKET frames looped back into the host: nothing in the cgroup sees them
  # (127/8 would be a martian on lo: a host address stands in for v4)
  "risk|packet-udp lo $E2E_HOST_V4 $P" "risk|packet-udp lo ::1 $P"
  "peer|ping $PEER4" "peer|ping $PEER6" "peer|raw-udp $PEER4 $P"
)
HOSTNET_RAW_SUB=("host|ping 127.0.0.1" "host|ping ::1" "host|raw-udp 127.0.0.1 $P")

# ---------------------------------------------------------------------------------------
# Own-netns container: everything of the fake host is reached through the veth.
HOST_V4=("$E2E_HOST_V4" "$BP_HOST2_V4")
HOST_V6=("$E2E_HOST_V6" "$BP_HOST2_V6" "$E2E_HOST_LL%vc")
META_V4=("$E2E_META_V4" "${BP_EXTRA_META_V4[@]}" "$E2E_SLIRP_V4")
META_V6=("$E2E_META_V6")
OWNNET_MAIN=()
for d in "${HOST_V4[@]}" "${HOST_V6[@]}" "${META_V4[@]}" "${META_V6[@]}"; do
  OWNNET_MAIN+=("host|connect tcp $d $P" "host|sendto udp $d $P")
done
for d in "${HOST_V4[@]}" "${META_V4[@]}"; do
  OWNNET_MAIN+=("host|connect tcp ::ffff:$d $P" "host|sendto udp ::ffff:$d $P")
done
for d in "$E2E_HOST_V4" "$E2E_HOST_V6" "::ffff:$E2E_HOST_V4" "$E2E_META_V4" "$E2E_META_V6"; do
  OWNNET_MAIN+=("host|connect udp $d $P" "host|sendto tcp $d $P" "host|sendmsg udp $d $P")
done
OWNNET_MAIN+=(
  "host|sendto-v6sock udp $E2E_HOST_V4 $P" "host|sendto-v6sock udp $E2E_META_V4 $P"
  "host|udp-connect-sendto $PEER4 $E2E_HOST_V4 $P"
  "host|udp-connect-sendto $PEER6 $E2E_HOST_V6 $P"
  "host|connect mptcp $E2E_HOST_V4 $P" "host|connect mptcp $E2E_HOST_V6 $P"
  "host|sctp $E2E_HOST_V4 $P" "host|sctp $E2E_HOST_V6 $P"
)
PING_TARGETS=("$E2E_HOST_V4" "$E2E_HOST_V6" "$E2E_HOST_LL%vc" "$BP_HOST2_V4" "$E2E_META_V4"
  "$E2E_META_V6")
for d in "${PING_TARGETS[@]}"; do
  OWNNET_MAIN+=("host|dgram-ping $d")
done
OWNNET_MAIN+=(
  "host|dgram-ping-connect $E2E_HOST_V4" "host|dgram-ping-connect $E2E_HOST_V6"
  # Broadcast and multicast: the host's subnet broadcasts, the limited broadcast, the
  # all-hosts/all-nodes groups every host interface has joined
  "host|sendto-bcast udp $HOST_BCAST_V4 $P" "host|sendto-bcast udp $HOST2_BCAST_V4 $P"
  "host|sendto-mcast vc 255.255.255.255 $P" "host|sendto-mcast vc 224.0.0.1 $P"
  "host|sendto-mcast vc ff02::1 $P" "host|sendto udp ff02::1%vc $P" "host|dgram-ping ff02::1%vc"
  # The subnet-router anycast addresses of the host's prefixes (it forwards, like any host
  # of bridged containers): UDP and ICMP are delivered to them, TCP is not
  "host|sendto udp $HOST_ANYCAST_V6 $P" "host|sendto udp $HOST2_ANYCAST_V6 $P"
  "host|sendto udp fe80::%vc $P" "host|dgram-ping $HOST_ANYCAST_V6"
  # Controls: the container's own loopback (127.0.0.1 there is its own) ...
  "own|connect tcp 127.0.0.1 $O" "own|connect tcp ::1 $O" "own|connect tcp 0.0.0.0 $O"
  "own|connect tcp :: $O" "own|connect tcp ::ffff:127.0.0.1 $O" "own|sendto tcp 127.0.0.1 $O"
  "own|sendto udp 127.0.0.1 $O" "own|sendto udp ::1 $O" "own|connect udp ::1 $O"
  "own|sendto udp ::ffff:127.0.0.1 $O" "own|dgram-ping 127.0.0.1" "own|dgram-ping ::1"
  # ... and a peer routed through the host
  "peer|connect tcp $PEER4 $P" "peer|connect tcp $PEER6 $P" "peer|sendto udp $PEER4 $P"
  "peer|sendto udp $PEER6 $P" "peer|dgram-ping $PEER4" "peer|dgram-ping $PEER6"
)
OWNNET_SUB=(
  "host|connect tcp $E2E_HOST_V4 $P" "host|connect tcp $E2E_HOST_V6 $P"
  "host|sendto udp $E2E_META_V4 $P" "host|sendto udp ::ffff:$E2E_HOST_V4 $P"
  "host|dgram-ping $E2E_HOST_V4" "host|dgram-ping $E2E_META_V6"
  "host|sendto-bcast udp $HOST_BCAST_V4 $P" "host|sendto udp $HOST_ANYCAST_V6 $P"
  "own|connect tcp 127.0.0.1 $O" "own|dgram-ping ::1" "peer|connect tcp $PEER4 $P"
)
OWNNET_RAW=()
for d in "${PING_TARGETS[@]}" ff02::1%vc "$HOST_ANYCAST_V6"; do
  OWNNET_RAW+=("host|ping $d")
done
OWNNET_RAW+=(
  "host|raw-udp $E2E_HOST_V4 $P" "host|raw-udp $E2E_HOST_V6 $P" "host|raw-udp $E2E_META_V4 $P"
  "host|raw-udp $E2E_META_V6 $P"
  "host|raw-udp-hdrincl $E2E_HOST_V4 $P" "host|raw-udp-hdrincl $E2E_HOST_V6 $P"
  "risk|packet-udp vc $E2E_HOST_V4 $P" "risk|packet-udp vc $E2E_HOST_V6 $P"
  "own|ping 127.0.0.1" "own|ping ::1" "own|raw-udp 127.0.0.1 $O" "own|raw-udp ::1 $O"
  "peer|ping $PEER4" "peer|ping $PEER6" "peer|raw-udp $PEER4 $P"
)
OWNNET_RAW_SUB=("host|ping $E2E_HOST_V4" "host|ping $E2E_META_V6" "host|raw-udp $E2E_HOST_V4 $P"
  "own|ping ::1")

# shellcheck disable=SC2034  # handed to bp_start by name
HOSTNET_NETRAW_MAIN=("${HOSTNET_MAIN[@]}" "${HOSTNET_RAW[@]}")
# shellcheck disable=SC2034
HOSTNET_NETRAW_SUB=("${HOSTNET_SUB[@]}" "${HOSTNET_RAW_SUB[@]}")
# shellcheck disable=SC2034
OWNNET_NETRAW_MAIN=("${OWNNET_MAIN[@]}" "${OWNNET_RAW[@]}")
# shellcheck disable=SC2034
OWNNET_NETRAW_SUB=("${OWNNET_SUB[@]}" "${OWNNET_RAW_SUB[@]}")

# ---------------------------------------------------------------------------------------
# CAP_NET_RAW without the admin's consent: refused before anything runs; without the
# annotation the hook does not run at all. The hooks as shipped read the default admin
# config; a host that has one gets an empty one instead, so the outcome is the same.
NO_CONSENT=-
if [[ -e /etc/containers/oci-jail-hook.conf ]]; then
  NO_CONSENT=$E2E_RUN_DIR/admin-empty.conf
  : >"$NO_CONSENT"
  chmod 0644 "$NO_CONSENT"
  e2e_log "/etc/containers/oci-jail-hook.conf exists: the refusal cases use an empty config"
fi
bp_refusal_case "CAP_NET_RAW in every set, jail.block-host=true" true "$NO_CONSENT" \
  "$BP_NET_RAW_REFUSAL" CAP_NET_RAW
bp_refusal_case "CAP_NET_RAW in the bounding set only, jail.block-host=true" true \
  "$NO_CONSENT" "$BP_NET_RAW_REFUSAL" CAP_NET_RAW@bounding
bp_refusal_case "CAP_NET_RAW in every set, no annotation (control)" - "$NO_CONSENT" - \
  CAP_NET_RAW
bp_refusal_case "admin allows CAP_NET_RAW only: CAP_NET_RAW + CAP_SYS_ADMIN" true \
  "$BP_ADMIN_CONFIG" "the container may hold CAP_SYS_ADMIN, which can get around cgroup BPF" \
  CAP_NET_RAW CAP_SYS_ADMIN

# ---------------------------------------------------------------------------------------
# The probe containers, all at once.
for mode in "${BP_MODES[@]}"; do
  bp_start default hostnet "$mode" HOSTNET_MAIN HOSTNET_SUB
  bp_start default ownnet "$mode" OWNNET_MAIN OWNNET_SUB
  bp_start netraw hostnet "$mode" HOSTNET_NETRAW_MAIN HOSTNET_NETRAW_SUB
  bp_start netraw ownnet "$mode" OWNNET_NETRAW_MAIN OWNNET_NETRAW_SUB
done
bp_run_batch
bp_compare_variants default netraw

bp_print_table default
bp_print_table netraw
bp_print_summary
e2e_finish
