/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between the BPF programs (block_host.bpf.c) and user space (hook/). It is
 * compiled three ways: by clang for the kernel, by g++ into the hook, and by g++ into the
 * Catch2 unit tests, which exercise ojh_decide() natively with the same code the kernel runs.
 *
 * Matching semantics (this comment is the spec)
 * ---------------------------------------------
 * Every program is attached to a container's cgroup, so it runs for every socket of every
 * process in that cgroup and in all of its sub-cgroups. The policy of the container is the
 * cgroup storage of the attachment (struct ojh_policy): the kernel hands each attachment the
 * storage of the cgroup the program is attached to, so a socket in `<ctr>/container/nested`
 * still finds the policy of `<ctr>`.
 *
 * A destination address D (IPv4, or IPv6; an IPv4-mapped IPv6 ::ffff:a.b.c.d is first turned
 * into the IPv4 address a.b.c.d, so every IPv4 rule covers its mapped form) is judged in
 * this order, first match wins:
 *
 *   1. policy not written yet (policy_id == 0)              -> OJH_DENY_UNINITIALIZED
 *      The window between attach and the policy write must fail closed.
 *   2. D is loopback (127.0.0.0/8, ::1) or unspecified (0.0.0.0/8, ::):
 *        socket's netns == host netns of the policy          -> OJH_DENY_LOOPBACK
 *        socket in any other netns                           -> OJH_ALLOW
 *      Linux delivers 0.0.0.0 and :: to the local host, so they are the loopback of whatever
 *      netns the socket lives in. A container with its own netns keeps its own loopback.
 *   3. D matches a rule of this policy in the LPM trie (longest prefix wins):
 *        OJH_RULE_HOST_ADDR  an address of a host interface  -> OJH_DENY_HOST_ADDR
 *        OJH_RULE_METADATA   cloud metadata / rootless host  -> OJH_DENY_METADATA
 *        OJH_RULE_CIDR       extra blocked range              -> OJH_DENY_CIDR
 *        OJH_RULE_MULTICAST  multicast / limited broadcast    -> OJH_DENY_MULTICAST
 *      Host addresses include each interface's IPv4 broadcast address and the IPv6 anycast
 *      addresses the host answers (subnet-router anycast <prefix>:: on forwarding hosts),
 *      and every policy carries 224.0.0.0/4, 255.255.255.255 and ff00::/8: a datagram to
 *      any of them reaches host sockets bound to the wildcard address.
 *   4. anything else                                         -> OJH_ALLOW
 *   5. a denial from 2 or 3 is lifted when the policy has an exception for the protocol
 *      (TCP/UDP), destination port and either the exact address or "any blocked address"
 *                                                            -> OJH_ALLOW_EXCEPTION
 *      Exceptions come from jail.block-host.allow and from the container's nameservers
 *      (DNS, port 53). They never lift OJH_DENY_UNINITIALIZED.
 *
 * Examples, with the host netns cookie H and host address 10.88.0.1:
 *   connect(127.0.0.1) from netns H           -> DENY_LOOPBACK
 *   connect(127.0.0.1) from the container's   -> ALLOW (its own lo)
 *   connect6(::ffff:10.88.0.1) from anywhere  -> DENY_HOST_ADDR
 *   sendto(169.254.169.254:80) unconnected    -> DENY_METADATA (sendmsg4 program)
 *   connect(1.1.1.1)                          -> ALLOW (not the host)
 *
 * The egress backstop (cgroup_skb) applies the same rules to every packet the container
 * sends from a socket the sock_addr programs do not judge: raw, ICMP/ping, SCTP, anything
 * but TCP stream and UDP datagram sockets (see ojh_judged_by_sock_addr). TCP and UDP
 * sockets are left to connect/sendmsg so that replies on connections the host opened to
 * the container (port forwarding) keep flowing.
 *
 * Which program sees what: connect() of an AF_INET6 socket to ::ffff:a.b.c.d reaches
 * connect6 (judged here as a.b.c.d), while an unconnected sendto() of that socket to
 * ::ffff:a.b.c.d is handed by the kernel to the IPv4 UDP path and reaches sendmsg4.
 *
 * In audit mode (OJH_POLICY_AUDIT) the verdict is counted but the operation is allowed.
 *
 * LPM keys carry the policy id (the container's cgroup id) in front of the address, so the
 * rules of every container live in two shared tries (one per family) and a lookup only ever
 * matches the rules of its own container: prefixlen = 64 + address prefix length.
 */
#ifndef OJH_BLOCK_HOST_ABI_H
#define OJH_BLOCK_HOST_ABI_H

#include <linux/types.h>

/* Bumped whenever a map layout or program semantics change; pins live under v<N>/. */
#define OJH_ABI_VERSION 1

#define OJH_POLICY_ID_BITS 64

enum ojh_verdict {
  OJH_ALLOW = 0,
  OJH_DENY_UNINITIALIZED = 1,
  OJH_DENY_LOOPBACK = 2,
  OJH_DENY_HOST_ADDR = 3,
  OJH_DENY_METADATA = 4,
  OJH_DENY_CIDR = 5,
  OJH_ALLOW_EXCEPTION = 6,
  OJH_DENY_MULTICAST = 7,
};

enum ojh_rule_kind {
  OJH_RULE_HOST_ADDR = 1,
  OJH_RULE_METADATA = 2,
  OJH_RULE_CIDR = 3,
  OJH_RULE_MULTICAST = 4,
};

/* Which program saw the operation; indexes the denial counters. */
enum ojh_hook_kind {
  OJH_HOOK_CONNECT4 = 0,
  OJH_HOOK_CONNECT6 = 1,
  OJH_HOOK_SENDMSG4 = 2,
  OJH_HOOK_SENDMSG6 = 3,
  OJH_HOOK_EGRESS = 4, /* the cgroup_skb backstop */
  OJH_HOOK_MAX = 5,
};

enum ojh_policy_flags {
  OJH_POLICY_AUDIT = 1u << 0,
};

/* Value of the shared cgroup storage (key: the cgroup id, shared by all attach types). */
struct ojh_policy {
  __u64 policy_id;         /* cgroup id of the container; 0 until the hook wrote it */
  __u64 host_netns_cookie; /* SO_NETNS_COOKIE of the runtime's (host's) netns */
  __u32 flags;             /* enum ojh_policy_flags */
  __u32 reserved;
};

/* Value of the per-CPU cgroup storage: kept apart from the policy so that a policy rewrite
 * (refresh) never races with, or resets, the counters. */
struct ojh_counters {
  __u64 denied[OJH_HOOK_MAX];  /* enforced denials */
  __u64 audited[OJH_HOOK_MAX]; /* would-be denials in audit mode */
};

struct ojh_rule {
  __u32 kind; /* enum ojh_rule_kind */
  __u32 reserved;
};

/* Key of the exception hash map. family == 0 means "any blocked address" (addr all zero);
 * IPv4 addresses use addr[0..3]. port is in network byte order. */
struct ojh_exception_key {
  __u32 policy_hi;
  __u32 policy_lo;
  __u8 protocol; /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 family;   /* AF_INET (2), AF_INET6 (10), or 0 for any */
  __u16 port;
  __u8 addr[16];
};

/* LPM trie keys: no padding may sit between prefixlen and the data, hence the split id. */
struct ojh_lpm_key4 {
  __u32 prefixlen; /* 64 + IPv4 prefix length */
  __u32 policy_hi;
  __u32 policy_lo;
  __u8 addr[4];
};

struct ojh_lpm_key6 {
  __u32 prefixlen; /* 64 + IPv6 prefix length */
  __u32 policy_hi;
  __u32 policy_lo;
  __u8 addr[16];
};

static inline int ojh_is_loopback_or_unspec4(const __u8 a[4]) { return a[0] == 127 || a[0] == 0; }

static inline int ojh_is_loopback_or_unspec6(const __u8 a[16]) {
  __u8 head = 0;
  for (int i = 0; i < 15; i++) head |= a[i];
  return head == 0 && (a[15] == 0 || a[15] == 1);
}

/* ::ffff:a.b.c.d -> a.b.c.d; returns 1 when a6 is IPv4-mapped. */
static inline int ojh_v4_mapped(const __u8 a6[16], __u8 out4[4]) {
  __u8 head = 0;
  for (int i = 0; i < 10; i++) head |= a6[i];
  if (head != 0 || a6[10] != 0xff || a6[11] != 0xff) return 0;
  for (int i = 0; i < 4; i++) out4[i] = a6[12 + i];
  return 1;
}

static inline void ojh_key4_set(struct ojh_lpm_key4* k, __u64 policy_id, const __u8 a[4],
                                __u32 prefixlen) {
  k->prefixlen = OJH_POLICY_ID_BITS + prefixlen;
  k->policy_hi = (__u32)(policy_id >> 32);
  k->policy_lo = (__u32)policy_id;
  for (int i = 0; i < 4; i++) k->addr[i] = a[i];
}

static inline void ojh_key6_set(struct ojh_lpm_key6* k, __u64 policy_id, const __u8 a[16],
                                __u32 prefixlen) {
  k->prefixlen = OJH_POLICY_ID_BITS + prefixlen;
  k->policy_hi = (__u32)(policy_id >> 32);
  k->policy_lo = (__u32)policy_id;
  for (int i = 0; i < 16; i++) k->addr[i] = a[i];
}

static inline void ojh_exception_key_set(struct ojh_exception_key* k, __u64 policy_id,
                                         __u8 protocol, __u8 family, __u16 port_be,
                                         const __u8* addr, int addr_len) {
  k->policy_hi = (__u32)(policy_id >> 32);
  k->policy_lo = (__u32)policy_id;
  k->protocol = protocol;
  k->family = family;
  k->port = port_be;
  for (int i = 0; i < 16; i++) k->addr[i] = i < addr_len ? addr[i] : 0;
}

/* Socket kinds whose traffic connect4/6 and sendmsg4/6 judge; the egress backstop lets
 * their packets pass and judges every other socket's. Values as in <linux/in.h> and
 * <linux/net.h>: SOCK_STREAM 1, SOCK_DGRAM 2, IPPROTO_TCP 6, IPPROTO_UDP 17,
 * IPPROTO_UDPLITE 136. */
static inline int ojh_judged_by_sock_addr(__u32 sock_type, __u32 protocol) {
  if (sock_type == 1 && protocol == 6) return 1;
  if (sock_type == 2 && (protocol == 17 || protocol == 136)) return 1;
  return 0;
}

static inline int ojh_is_denial(enum ojh_verdict v) {
  return v != OJH_ALLOW && v != OJH_ALLOW_EXCEPTION;
}

/* Step 5 of the spec: `excepted` is whether an exception matched the operation. */
static inline enum ojh_verdict ojh_with_exception(enum ojh_verdict v, int excepted) {
  if (v == OJH_ALLOW || v == OJH_DENY_UNINITIALIZED || !excepted) return v;
  return OJH_ALLOW_EXCEPTION;
}

/* The decision itself: `loopback_or_unspec` is the classification of the destination (from
 * the helpers above) and `hit` the LPM lookup result for it (NULL when no rule matched). */
static inline enum ojh_verdict ojh_decide(const struct ojh_policy* policy, __u64 sock_netns_cookie,
                                          int loopback_or_unspec, const struct ojh_rule* hit) {
  if (policy->policy_id == 0) return OJH_DENY_UNINITIALIZED;
  if (loopback_or_unspec)
    return sock_netns_cookie == policy->host_netns_cookie ? OJH_DENY_LOOPBACK : OJH_ALLOW;
  if (!hit) return OJH_ALLOW;
  switch (hit->kind) {
    case OJH_RULE_HOST_ADDR:
      return OJH_DENY_HOST_ADDR;
    case OJH_RULE_METADATA:
      return OJH_DENY_METADATA;
    case OJH_RULE_MULTICAST:
      return OJH_DENY_MULTICAST;
    default:
      /* Unknown kinds deny: a newer hook may have written a rule this program predates. */
      return OJH_DENY_CIDR;
  }
}

#endif /* OJH_BLOCK_HOST_ABI_H */
