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
 * A policy with OJH_POLICY_JUDGE_ALL_EGRESS has the backstop judge every packet, TCP and
 * UDP included (ojh_egress_judges). The hook sets it for a container that may hold
 * CAP_NET_ADMIN: a NAT rule in its own netns (nftables DNAT in OUTPUT) rewrites a
 * destination after connect/sendmsg judged it, and cgroup_skb egress runs after the
 * OUTPUT and POSTROUTING hooks, so it sees the address the packet really goes to. The
 * price: replies to host addresses are judged too (the container cannot serve a host
 * client), and where the backstop cannot tell netns apart (the compat program, kernels
 * before 6.15) TCP and UDP to the container's own loopback are refused as well.
 *
 * Which program sees what: connect() of an AF_INET6 socket to ::ffff:a.b.c.d reaches
 * connect6 (judged here as a.b.c.d), while an unconnected sendto() of that socket to
 * ::ffff:a.b.c.d is handed by the kernel to the IPv4 UDP path and reaches sendmsg4.
 *
 * AF_UNIX (connect_unix / sendmsg_unix, Linux 6.7+; optional: see ojh_decide_unix)
 * ----------------------------------------------------------------------------------
 * A named AF_UNIX destination N (a connect(), or a sendmsg() that names an address) is
 * judged in this order, first match wins:
 *
 *   1. policy not written yet                                -> OJH_DENY_UNINITIALIZED
 *   2. the policy has OJH_POLICY_UNIX_DENY_ALL
 *      (jail.block-host.unix=deny-all)                       -> OJH_DENY_UNIX_NAMED
 *   3. N is abstract (sun_path[0] == 0) and the socket's
 *      netns == host netns of the policy                     -> OJH_DENY_UNIX_ABSTRACT
 *   4. anything else (a path name; an abstract name in the
 *      container's own netns)                                -> OJH_ALLOW
 *
 * Abstract names live in the network namespace, not in the file system: a container that
 * shares the host's netns shares the host's abstract names (D-Bus, X11, containerd shims).
 * The kernel resolves the name only after the program ran, so whose socket it is cannot be
 * known: a host-netns container's own abstract sockets are refused too (the documented
 * price; a container with its own netns keeps them). Path names are reached through the
 * file system, which the runtime builds: only what is bind-mounted in is reachable, and
 * deny-all refuses even that (docker.sock). socketpair(), a sendmsg() without an address on
 * a connected socket and descriptors passed in never reach these programs. No exception
 * applies (exceptions name TCP/UDP ports); audit mode counts instead of refusing.
 *
 * Examples, with the host netns cookie H:
 *   connect("@/tmp/.X11-unix/X0") from netns H    -> DENY_UNIX_ABSTRACT
 *   connect("@foo") from the container's netns    -> ALLOW (its own abstract name)
 *   connect("/run/app.sock") from netns H         -> ALLOW (what the runtime mounted in)
 *   sendto("/var/run/docker.sock"), deny-all      -> DENY_UNIX_NAMED
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

/* Capacity of the shared maps, per family for the rule tries (see block_host.bpf.c). */
#define OJH_MAX_RULES (1u << 19)
#define OJH_MAX_EXCEPTIONS (1u << 18)

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
  OJH_DENY_RAW_SOCKET = 8, /* a socket below IP (raw_sockets.h), refused at creation */
  /* AF_UNIX (connect_unix / sendmsg_unix): kept apart from the IP verdicts above. */
  OJH_DENY_UNIX_ABSTRACT = 9,
  OJH_DENY_UNIX_NAMED = 10,
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
  /* lsm_cgroup/socket_create: refuses sockets below IP (raw_sockets.h); loaded only where
   * the BPF LSM is active */
  OJH_HOOK_SOCKET_CREATE = 5,
  /* AF_UNIX programs (Linux 6.7+), loaded only where the kernel has the attach types. */
  OJH_HOOK_CONNECT_UNIX = 6,
  OJH_HOOK_SENDMSG_UNIX = 7,
  OJH_HOOK_MAX = 8,
};

enum ojh_policy_flags {
  OJH_POLICY_AUDIT = 1u << 0,
  OJH_POLICY_JUDGE_ALL_EGRESS = 1u << 1, /* the backstop judges TCP/UDP packets too */
  OJH_POLICY_UNIX_DENY_ALL = 1u << 2,    /* every named AF_UNIX destination is refused */
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

/*
 * Verifier-proof glue
 * -------------------
 * The programs load without CAP_PERFMON, and then every verifier from 6.1 on applies its
 * Spectre-v1 and pointer-leak rules. Two of them shape the code below (both seen on Debian's
 * kernels, tests/vm/kernels.sh):
 *   - 6.1 refuses a store of less than 8 bytes into a stack slot whose first bytes a smaller
 *     store of a known-bounded value wrote ("attempt to corrupt spilled pointer on stack"): a
 *     key written field by field fails. Keys are therefore written in whole 64-bit words
 *     (the *_words unions), and a destination is a value the compiler keeps in registers.
 *   - up to 6.16, a NULL constant that reaches a dereference behind a NULL check is followed
 *     on the mispredicted path and refused ("invalid mem access 'scalar'"): a rule lookup's
 *     result is turned into its kind right where the lookup happens, and the decider takes
 *     the kind (0: no rule), never a pointer.
 * Everything here is compiled natively into the unit tests as well.
 */

/* The 64-bit word whose memory holds `first`, then `second` (32-bit words in memory order). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OJH_WORD(first, second) ((__u64)(__u32)(second) << 32 | (__u32)(first))
/* The 32-bit word whose memory holds the bytes b0, b1 and the 16-bit word h (memory order). */
#define OJH_BYTES_HALF(b0, b1, h) \
  ((__u32)(__u8)(b0) | (__u32)(__u8)(b1) << 8 | (__u32)(__u16)(h) << 16)
/* The last word of ::1 (bytes 0, 0, 0, 1). */
#define OJH_LOOPBACK6_LAST_WORD 0x01000000u
#else
#define OJH_WORD(first, second) ((__u64)(__u32)(first) << 32 | (__u32)(second))
#define OJH_BYTES_HALF(b0, b1, h) ((__u32)(__u8)(b0) << 24 | (__u32)(__u8)(b1) << 16 | (__u16)(h))
#define OJH_LOOPBACK6_LAST_WORD 0x00000001u
#endif

/* Bytes 8..11 of an IPv4-mapped address (::ffff:a.b.c.d) as a word in memory order. */
#define OJH_V4_MAPPED_WORD OJH_BYTES_HALF(0, 0, 0xffff)

#define OJH_AF_UNIX 1 /* in denial records of the AF_UNIX programs */
#define OJH_AF_INET 2
#define OJH_AF_INET6 10

/* A destination as the programs judge it: the address in four 32-bit words in memory
 * (network) order, an IPv4 address in addr[0] and the rest zero. */
struct ojh_destination {
  __u32 addr[4];
  __u16 port_be; /* network byte order, as in the socket address */
  __u8 family;   /* OJH_AF_INET or OJH_AF_INET6 */
  __u8 protocol; /* IPPROTO_* of the socket or packet */
};

/* The first byte of the word's memory: the first octet of an IPv4 address. */
static inline __u8 ojh_first_byte(__u32 word) {
  __u8 b;
  __builtin_memcpy(&b, &word, 1);
  return b;
}

static inline __u32 ojh_load32(const __u8* p) {
  __u32 v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

/* IPv4-mapped IPv6 destinations are judged as the IPv4 address they carry. */
static inline void ojh_normalize(struct ojh_destination* d) {
  if (d->family == OJH_AF_INET6 && d->addr[0] == 0 && d->addr[1] == 0 &&
      d->addr[2] == OJH_V4_MAPPED_WORD) {
    d->family = OJH_AF_INET;
    d->addr[0] = d->addr[3];
    d->addr[1] = d->addr[2] = d->addr[3] = 0;
  }
}

/* What connect4/sendmsg4 see: user_ip4 and user_port as the kernel hands them (memory order). */
static inline struct ojh_destination ojh_destination4(__u32 ip4, __u32 port, __u32 protocol) {
  struct ojh_destination d = {{ip4, 0, 0, 0}, (__u16)port, OJH_AF_INET, (__u8)protocol};
  return d;
}

/* What connect6/sendmsg6 see, already normalized. */
static inline struct ojh_destination ojh_destination6(__u32 w0, __u32 w1, __u32 w2, __u32 w3,
                                                      __u32 port, __u32 protocol) {
  struct ojh_destination d = {{w0, w1, w2, w3}, (__u16)port, OJH_AF_INET6, (__u8)protocol};
  ojh_normalize(&d);
  return d;
}

/* An address given as bytes (user space: host addresses, rules). */
static inline struct ojh_destination ojh_destination_of(__u8 family, const __u8* a) {
  if (family == OJH_AF_INET) return ojh_destination4(ojh_load32(a), 0, 0);
  return ojh_destination6(ojh_load32(a), ojh_load32(a + 4), ojh_load32(a + 8), ojh_load32(a + 12),
                          0, 0);
}

/* Loopback (127.0.0.0/8, ::1) or unspecified (0.0.0.0/8, ::): step 2 of the spec. */
static inline int ojh_is_loopback_or_unspec(const struct ojh_destination* d) {
  if (d->family == OJH_AF_INET) {
    const __u8 first = ojh_first_byte(d->addr[0]);
    return first == 127 || first == 0;
  }
  if (d->addr[0] != 0 || d->addr[1] != 0 || d->addr[2] != 0) return 0;
  return d->addr[3] == 0 || d->addr[3] == OJH_LOOPBACK6_LAST_WORD;
}

/* Map keys, written in whole 64-bit words (see above); pass &u.key to the map. */
union ojh_lpm_key4_words {
  struct ojh_lpm_key4 key;
  __u64 w[2];
};
union ojh_lpm_key6_words {
  struct ojh_lpm_key6 key;
  __u64 w[4];
};
union ojh_exception_key_words {
  struct ojh_exception_key key;
  __u64 w[4];
};

static inline void ojh_key4_set(union ojh_lpm_key4_words* k, __u64 policy_id, const __u8 a[4],
                                __u32 prefixlen) {
  k->w[0] = OJH_WORD(OJH_POLICY_ID_BITS + prefixlen, policy_id >> 32);
  k->w[1] = OJH_WORD(policy_id, ojh_load32(a));
}

static inline void ojh_key6_set(union ojh_lpm_key6_words* k, __u64 policy_id, const __u8 a[16],
                                __u32 prefixlen) {
  k->w[0] = OJH_WORD(OJH_POLICY_ID_BITS + prefixlen, policy_id >> 32);
  k->w[1] = OJH_WORD(policy_id, ojh_load32(a));
  k->w[2] = OJH_WORD(ojh_load32(a + 4), ojh_load32(a + 8));
  k->w[3] = OJH_WORD(ojh_load32(a + 12), 0);
}

/* family 0 is "any blocked address": the address is then all zero. */
static inline void ojh_exception_key_set(union ojh_exception_key_words* k, __u64 policy_id,
                                         __u8 protocol, __u8 family, __u16 port_be,
                                         const __u8* addr) {
  const __u32 a0 = family ? ojh_load32(addr) : 0;
  const __u32 a1 = family == OJH_AF_INET6 ? ojh_load32(addr + 4) : 0;
  const __u32 a2 = family == OJH_AF_INET6 ? ojh_load32(addr + 8) : 0;
  const __u32 a3 = family == OJH_AF_INET6 ? ojh_load32(addr + 12) : 0;
  k->w[0] = OJH_WORD(policy_id >> 32, policy_id);
  k->w[1] = OJH_WORD(OJH_BYTES_HALF(protocol, family, port_be), a0);
  k->w[2] = OJH_WORD(a1, a2);
  k->w[3] = OJH_WORD(a3, 0);
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

/* Whether the egress backstop judges a packet of a full socket of this kind. A policy that
 * says "every packet" takes TCP and UDP from connect/sendmsg too: their verdict was on the
 * address before any NAT rule of the container's netns rewrote it. */
static inline int ojh_egress_judges(__u32 policy_flags, __u32 sock_type, __u32 protocol) {
  if (policy_flags & OJH_POLICY_JUDGE_ALL_EGRESS) return 1;
  return !ojh_judged_by_sock_addr(sock_type, protocol);
}

static inline int ojh_is_denial(enum ojh_verdict v) {
  return v != OJH_ALLOW && v != OJH_ALLOW_EXCEPTION;
}

/* Step 5 of the spec: `excepted` is whether an exception matched the operation. */
static inline enum ojh_verdict ojh_with_exception(enum ojh_verdict v, int excepted) {
  if (v == OJH_ALLOW || v == OJH_DENY_UNINITIALIZED || !excepted) return v;
  return OJH_ALLOW_EXCEPTION;
}

/* The decision itself: `loopback_or_unspec` is the classification of the destination
 * (ojh_is_loopback_or_unspec) and `rule_kind` the kind of the rule the LPM lookup found for
 * it, 0 when none matched. */
static inline enum ojh_verdict ojh_decide(const struct ojh_policy* policy, __u64 sock_netns_cookie,
                                          int loopback_or_unspec, __u32 rule_kind) {
  if (policy->policy_id == 0) return OJH_DENY_UNINITIALIZED;
  if (loopback_or_unspec)
    return sock_netns_cookie == policy->host_netns_cookie ? OJH_DENY_LOOPBACK : OJH_ALLOW;
  switch (rule_kind) {
    case 0:
      return OJH_ALLOW;
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

/* A named AF_UNIX destination as connect_unix / sendmsg_unix see it: `addrlen` is the
 * length of the socket address (family included), `first` the first byte of sun_path. The
 * kernel checked addrlen > 2 before the program runs; a shorter one is judged as abstract,
 * the stricter reading. */
enum ojh_unix_name {
  OJH_UNIX_PATH = 1,
  OJH_UNIX_ABSTRACT = 2,
};

static inline enum ojh_unix_name ojh_unix_name_of(__u32 addrlen, __u8 first) {
  return addrlen > 2 && first != 0 ? OJH_UNIX_PATH : OJH_UNIX_ABSTRACT;
}

/* The AF_UNIX decision (spec above): `sock_netns_cookie` is the connecting socket's netns. */
static inline enum ojh_verdict ojh_decide_unix(const struct ojh_policy* policy,
                                               __u64 sock_netns_cookie, enum ojh_unix_name name) {
  if (policy->policy_id == 0) return OJH_DENY_UNINITIALIZED;
  if (policy->flags & OJH_POLICY_UNIX_DENY_ALL) return OJH_DENY_UNIX_NAMED;
  if (name != OJH_UNIX_PATH && sock_netns_cookie == policy->host_netns_cookie)
    return OJH_DENY_UNIX_ABSTRACT;
  return OJH_ALLOW;
}

#endif /* OJH_BLOCK_HOST_ABI_H */
