/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which sockets the lsm_cgroup/socket_create program refuses (block_host.bpf.c, Linux 6.0+
 * with the BPF LSM active). Compiled by clang for the kernel and natively into the unit
 * tests (tests/unit/test_raw_sockets.cpp), like block_host_abi.h.
 *
 * The cgroup programs judge what goes through the IP stack: connect/sendmsg for TCP and UDP,
 * the cgroup_skb egress backstop for every other IP packet. A socket that hands frames to a
 * device below IP is seen by none of them, and CAP_NET_RAW is what the kernel asks for before
 * it creates one. A container that holds CAP_NET_RAW can therefore be accepted only when
 * these sockets are refused at creation. Refused, for processes of the container (kern == 0):
 *
 *   AF_PACKET, any type      frames written straight to a device (also what the obsolete
 *                            AF_INET/SOCK_PACKET becomes: the kernel turns it into AF_PACKET
 *                            before the LSM hook runs; refused here too in case it does not)
 *   AF_XDP, any type         frames written to a device's queue (transmit needs no XDP
 *                            program)
 *   AF_LLC, any type         IEEE 802.2 frames below IP (needs CAP_NET_RAW too)
 *   AF_INET/AF_INET6 with SOCK_RAW (any protocol, IPPROTO_RAW included) or SOCK_PACKET
 *
 * Raw IP sockets do pass the egress backstop, so refusing them is not needed to keep the
 * host's addresses out of reach. They are refused anyway because a container that was
 * refused CAP_NET_RAW before never had them, and what they add is not ours to grant: a raw
 * socket in the host's network namespace receives a copy of every host packet of its
 * protocol, and IP_HDRINCL writes any source address. Everything a raw ICMP socket is used
 * for in a container (ping) works with ICMP datagram sockets (SOCK_DGRAM, IPPROTO_ICMP /
 * IPPROTO_ICMPV6; net.ipv4.ping_group_range), which stay allowed and are judged per packet
 * by the egress backstop; busybox's and iputils' ping fall back to them on EPERM.
 *
 * Sockets the kernel creates for itself (kern != 0: NFS, tunnels, ...) are not the
 * container's and are allowed. Sockets created before the program was attached, or outside
 * the container and passed in (SCM_RIGHTS, inheritance), are not seen: the hook attaches at
 * createRuntime, before any code of the container runs (docs/security.md, Known limits).
 */
#ifndef OJH_RAW_SOCKETS_H
#define OJH_RAW_SOCKETS_H

#include "block_host_abi.h"

/* <sys/socket.h> values; the BPF side has no libc headers (checked against them in
 * tests/unit/test_raw_sockets.cpp). */
#define OJH_AF_PACKET 17
#define OJH_AF_LLC 26
#define OJH_AF_XDP 44
#define OJH_SOCK_RAW 3
#define OJH_SOCK_PACKET 10
/* socket(2) flags share the type argument; the kernel masks them off before the LSM hook. */
#define OJH_SOCK_TYPE_MASK 0xf

/* 1 when a socket of (family, type, protocol) must not be created by the container. */
static inline int ojh_socket_refused(int family, int type, int protocol, int kern) {
  (void)protocol; /* every protocol of a refused family or type is refused */
  if (kern) return 0;
  if (family == OJH_AF_PACKET || family == OJH_AF_XDP || family == OJH_AF_LLC) return 1;
  if (family == OJH_AF_INET || family == OJH_AF_INET6) {
    const int t = type & OJH_SOCK_TYPE_MASK;
    return t == OJH_SOCK_RAW || t == OJH_SOCK_PACKET;
  }
  return 0;
}

#endif
