// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kernel side of oci-jail-hook: cgroup sock_addr programs that refuse connect() and
 * sendmsg() towards the host, and a cgroup_skb egress backstop for every other kind of
 * socket. The rules are stated in block_host_abi.h; this file only gathers the inputs
 * (destination, netns, policy, rule and exception lookups) and applies the verdict.
 *
 * Loaded once per host and pinned; each container gets bpf_links of these programs on its
 * cgroup plus its own policy in the shared cgroup storage and rule maps.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "block_host_abi.h"
#include "block_host_events.h"
#include "raw_sockets.h"

#define SOCK_ALLOW 1
#define SOCK_DENY 0 /* connect/sendmsg: the application gets EPERM */
#define SKB_PASS 1
#define SKB_DROP 0 /* the sending syscall gets EPERM for locally generated packets */

/* Sized for at least 1,000 containers of the largest policy (256 CIDRs of one family, 64
 * exceptions, the host's rules) with room to spare: what one container may hold must never
 * crowd out another (tests/bpf/test_capacity.cpp). LPM tries and the hash map allocate per
 * entry (BPF_F_NO_PREALLOC), so the size is a ceiling, not a cost. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct ojh_lpm_key4);
  __type(value, struct ojh_rule);
  __uint(max_entries, OJH_MAX_RULES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} ojh_rules4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct ojh_lpm_key6);
  __type(value, struct ojh_rule);
  __uint(max_entries, OJH_MAX_RULES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} ojh_rules6 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct ojh_exception_key);
  __type(value, __u8);
  __uint(max_entries, OJH_MAX_EXCEPTIONS);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} ojh_allow SEC(".maps");

/* A __u64 key (the cgroup id) makes the storage shared by all attach types of a cgroup. */
struct {
  __uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
  __type(key, __u64);
  __type(value, struct ojh_policy);
} ojh_policy SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
  __type(key, __u64);
  __type(value, struct ojh_counters);
} ojh_counters SEC(".maps");

/* Denial records (block_host_events.h): per-container state and retained records, created
 * on a container's first denial (BPF_F_NO_PREALLOC: never-denied containers cost nothing),
 * and one ring for followers. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u64);
  __type(value, struct ojh_event_state);
  __uint(max_entries, OJH_MAX_EVENT_STATES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} ojh_evstate SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct ojh_event_key);
  __type(value, struct ojh_event);
  __uint(max_entries, OJH_MAX_EVENT_RECORDS);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} ojh_recent SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, OJH_EVENT_RING_BYTES);
} ojh_events SEC(".maps");

/* Records a denial (or an audited would-be denial) of the container `cgroup_id`: rate
 * limited, kept in the container's slots, copied to the ring (block_host_events.h). Any
 * program calls it where its verdict is a denial; `has_task` says whether the current task
 * is the caller (process context: sock_addr, LSM hooks), else the pid stays 0.
 * Every failure is silent: a record is information, the verdict stands without it. */
static __always_inline void ojh_emit_denial(__u64 cgroup_id, enum ojh_hook_kind hook,
                                            enum ojh_verdict v, __u32 flags,
                                            const struct ojh_destination* d, int has_task) {
  const __u64 now = bpf_ktime_get_boot_ns();
  struct ojh_event_state* s = bpf_map_lookup_elem(&ojh_evstate, &cgroup_id);
  if (!s) {
    const struct ojh_event_state fresh = {};
    bpf_map_update_elem(&ojh_evstate, &cgroup_id, &fresh, BPF_NOEXIST);
    s = bpf_map_lookup_elem(&ojh_evstate, &cgroup_id);
    if (!s) return;
  }
  __u64 seq = 0;
  int admitted;
  bpf_spin_lock(&s->lock);
  admitted = ojh_rate_admit(&s->tat, now);
  if (admitted) {
    seq = s->seq;
    s->seq = seq + 1;
  } else {
    s->dropped += 1;
  }
  bpf_spin_unlock(&s->lock);
  if (!admitted) return;

  union ojh_event_words e;
  __u32 pid = 0;
  if (has_task) pid = bpf_get_current_pid_tgid() >> 32;
  ojh_event_set(&e, now, cgroup_id, d, pid, hook, v, flags, seq);
  /* bpf_get_current_comm needs CAP_PERFMON, which the programs are loaded without
   * (docs/design.md): user space reads the comm of the pid when it reads the record. */
  e.w[6] = 0;
  e.w[7] = 0;
  struct ojh_event_key key = {cgroup_id, ojh_event_slot(seq)};
  bpf_map_update_elem(&ojh_recent, &key, &e.event, BPF_ANY);
  bpf_ringbuf_output(&ojh_events, &e.event, sizeof(e.event), 0);
}

static __always_inline int excepted(const struct ojh_policy* policy,
                                    const struct ojh_destination* d) {
  union ojh_exception_key_words key;

  ojh_exception_key_set(&key, policy->policy_id, d->protocol, d->family, d->port_be,
                        (const __u8*)d->addr);
  if (bpf_map_lookup_elem(&ojh_allow, &key.key)) return 1;
  ojh_exception_key_set(&key, policy->policy_id, d->protocol, 0, d->port_be, 0);
  return bpf_map_lookup_elem(&ojh_allow, &key.key) != 0;
}

/* The kind of the policy's rule for the destination, 0 for none. The lookup's result is read
 * here, where it may be NULL or a map value, and nowhere else (see block_host_abi.h). */
static __always_inline __u32 rule_kind(const struct ojh_policy* policy,
                                       const struct ojh_destination* d) {
  const struct ojh_rule* hit;

  if (d->family == OJH_AF_INET) {
    union ojh_lpm_key4_words key;
    ojh_key4_set(&key, policy->policy_id, (const __u8*)d->addr, 32);
    hit = bpf_map_lookup_elem(&ojh_rules4, &key.key);
  } else {
    union ojh_lpm_key6_words key;
    ojh_key6_set(&key, policy->policy_id, (const __u8*)d->addr, 128);
    hit = bpf_map_lookup_elem(&ojh_rules6, &key.key);
  }
  return hit ? hit->kind : 0;
}

/* `ctx` is the program's context; `know_netns` says whether bpf_get_netns_cookie may be
 * called with it, else every loopback destination is judged as the host's. */
static __always_inline enum ojh_verdict judge(const struct ojh_policy* policy, void* ctx,
                                              int know_netns, const struct ojh_destination* d) {
  if (!policy->policy_id) return OJH_DENY_UNINITIALIZED;
  enum ojh_verdict v;
  if (ojh_is_loopback_or_unspec(d)) {
    /* Only loopback and unspecified destinations depend on the socket's netns, so the helper
     * runs for no other destination. */
    const __u64 netns = know_netns ? bpf_get_netns_cookie(ctx) : policy->host_netns_cookie;
    v = ojh_decide(policy, netns, 1, 0);
  } else {
    v = ojh_decide(policy, 0, 0, rule_kind(policy, d));
  }
  if (v == OJH_ALLOW) return v;
  return ojh_with_exception(v, excepted(policy, d));
}

/* Counts and turns the verdict into allow/deny; audit mode counts and allows.
 * Each branch does its own atomic add, whose offset is an immediate of the instruction:
 * the hook runs without CAP_PERFMON, and then the verifier (Spectre v1 hardening) rejects
 * one pointer addition reached with different offsets on different paths, which is what
 * the compiler makes of a shared `counter++` after a branch. */
/* A denial of a written policy is also recorded (ojh_emit_denial); one of an unwritten
 * policy (the moment between attach and policy write, before any user code) is not: there
 * is no container to file it under. */
static __always_inline int permitted(const struct ojh_policy* policy, enum ojh_verdict v,
                                     enum ojh_hook_kind hook, const struct ojh_destination* d,
                                     int has_task) {
  if (!ojh_is_denial(v)) return 1;
  struct ojh_counters* counters = bpf_get_local_storage(&ojh_counters, 0);
  if ((policy->flags & OJH_POLICY_AUDIT) && v != OJH_DENY_UNINITIALIZED) {
    __sync_fetch_and_add(&counters->audited[hook], 1);
    asm volatile("" ::: "memory");
    ojh_emit_denial(policy->policy_id, hook, v, OJH_EVENT_AUDITED, d, has_task);
    return 1;
  }
  __sync_fetch_and_add(&counters->denied[hook], 1);
  asm volatile("" ::: "memory");
  if (v != OJH_DENY_UNINITIALIZED) ojh_emit_denial(policy->policy_id, hook, v, 0, d, has_task);
  return 0;
}

static __always_inline int sock_addr4(struct bpf_sock_addr* ctx, enum ojh_hook_kind hook) {
  const struct ojh_policy* policy = bpf_get_local_storage(&ojh_policy, 0);
  const struct ojh_destination d = ojh_destination4(ctx->user_ip4, ctx->user_port, ctx->protocol);
  return permitted(policy, judge(policy, ctx, 1, &d), hook, &d, 1) ? SOCK_ALLOW : SOCK_DENY;
}

static __always_inline int sock_addr6(struct bpf_sock_addr* ctx, enum ojh_hook_kind hook) {
  const struct ojh_policy* policy = bpf_get_local_storage(&ojh_policy, 0);
  const struct ojh_destination d =
      ojh_destination6(ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3],
                       ctx->user_port, ctx->protocol);
  return permitted(policy, judge(policy, ctx, 1, &d), hook, &d, 1) ? SOCK_ALLOW : SOCK_DENY;
}

SEC("cgroup/connect4")
int ojh_connect4(struct bpf_sock_addr* ctx) { return sock_addr4(ctx, OJH_HOOK_CONNECT4); }

SEC("cgroup/sendmsg4")
int ojh_sendmsg4(struct bpf_sock_addr* ctx) { return sock_addr4(ctx, OJH_HOOK_SENDMSG4); }

SEC("cgroup/connect6")
int ojh_connect6(struct bpf_sock_addr* ctx) { return sock_addr6(ctx, OJH_HOOK_CONNECT6); }

SEC("cgroup/sendmsg6")
int ojh_sendmsg6(struct bpf_sock_addr* ctx) { return sock_addr6(ctx, OJH_HOOK_SENDMSG6); }

/* The common case of parse_packet without a helper call: an IPv4 header without options or
 * an IPv6 header, followed by a port, in the linear part of the packet. Reads only at
 * constant offsets: loaded without CAP_PERFMON, the programs may not add a variable offset
 * to a packet pointer (the verifier's Spectre v1 rule). Returns 0 when the packet does not
 * fit that case; parse_packet then reads it with the helper. */
static __always_inline int parse_packet_linear(struct __sk_buff* skb, struct ojh_destination* d) {
  const __u8* data = (const __u8*)(long)skb->data;
  const __u8* end = (const __u8*)(long)skb->data_end;

  if (skb->protocol == bpf_htons(ETH_P_IP)) {
    if (data + 24 > end || data[0] != 0x45) return 0;
    const __u8 protocol = data[9];
    const __u16 port_be =
        protocol == IPPROTO_TCP || protocol == IPPROTO_UDP ? *(const __u16*)(data + 22) : 0;
    *d = ojh_destination4(*(const __u32*)(data + 16), port_be, protocol);
    return 1;
  }
  if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    if (data + 44 > end) return 0;
    const __u8 protocol = data[6];
    const __u16 port_be =
        protocol == IPPROTO_TCP || protocol == IPPROTO_UDP ? *(const __u16*)(data + 42) : 0;
    *d =
        ojh_destination6(*(const __u32*)(data + 24), *(const __u32*)(data + 28),
                         *(const __u32*)(data + 32), *(const __u32*)(data + 36), port_be, protocol);
    return 1;
  }
  return 0;
}

/* Reads destination, protocol and (for TCP/UDP) destination port of an outgoing packet;
 * cgroup_skb data starts at the network header. Returns 0 for anything that is not IP.
 * The helper writes into buffers of their own; the destination is then built as a value. */
static __always_inline int parse_packet(struct __sk_buff* skb, struct ojh_destination* d) {
  if (parse_packet_linear(skb, d)) return 1;
  __u32 addr[4] = {};
  __u8 protocol = 0;
  __u16 port_be = 0;
  __u32 l4;

  if (skb->protocol == bpf_htons(ETH_P_IP)) {
    __u8 vihl;
    if (bpf_skb_load_bytes(skb, 0, &vihl, 1) || bpf_skb_load_bytes(skb, 9, &protocol, 1) ||
        bpf_skb_load_bytes(skb, 16, addr, 4))
      return 0;
    l4 = (vihl & 0x0f) * 4;
  } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    if (bpf_skb_load_bytes(skb, 6, &protocol, 1) || bpf_skb_load_bytes(skb, 24, addr, 16)) return 0;
    l4 = 40;
  } else {
    return 0;
  }
  /* Exceptions name TCP/UDP ports; any other protocol (or an IPv6 extension header in
   * front of the transport header) keeps port 0, which no exception carries. */
  if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP)
    bpf_skb_load_bytes(skb, l4 + 2, &port_be, 2);
  if (skb->protocol == bpf_htons(ETH_P_IP))
    *d = ojh_destination4(addr[0], port_be, protocol);
  else
    *d = ojh_destination6(addr[0], addr[1], addr[2], addr[3], port_be, protocol);
  return 1;
}

/* Shared by both egress variants: `know_netns` is whether the kernel lets cgroup_skb
 * programs read the socket's netns cookie (see judge). With OJH_POLICY_JUDGE_ALL_EGRESS it
 * judges TCP and UDP too, on the destination as NAT in the container's netns left it. */
static __always_inline int egress(struct __sk_buff* skb, int know_netns) {
  /* Read first: whether TCP and UDP are judged here depends on it. */
  const struct ojh_policy* policy = bpf_get_local_storage(&ojh_policy, 0);
  struct bpf_sock* sk = skb->sk;
  if (!sk) return SKB_PASS;
  struct bpf_sock* full = bpf_sk_fullsock(sk);
  /* The kernel runs cgroup egress with the full socket (a SYN-ACK of a request minisocket
   * comes with its listener) and never for timewait ones: nothing is left out here. */
  if (!full) return SKB_PASS;
  if (!ojh_egress_judges(policy->flags, full->type, full->protocol)) return SKB_PASS;

  struct ojh_destination d;
  if (!parse_packet(skb, &d)) return SKB_PASS;
  /* Egress may run in softirq (a retransmission, a queued packet): the current task is not
   * reliably the sender, so the record carries no pid or comm. */
  return permitted(policy, judge(policy, skb, know_netns, &d), OJH_HOOK_EGRESS, &d, 0) ? SKB_PASS
                                                                                       : SKB_DROP;
}

SEC("cgroup_skb/egress")
int ojh_egress(struct __sk_buff* skb) { return egress(skb, 1); }

/* For kernels whose cgroup_skb programs cannot call bpf_get_netns_cookie (before 6.15):
 * raw and ICMP packets to a loopback address are then dropped in every netns, which only
 * costs a container with its own netns raw/ICMP traffic to its own loopback. */
SEC("cgroup_skb/egress")
int ojh_egress_compat(struct __sk_buff* skb) { return egress(skb, 0); }

/* --- Sockets below IP (BPF LSM) ------------------------------------------------------- */

#define LSM_CGROUP_ALLOW 1
#define LSM_CGROUP_DENY 0 /* socket(2) fails with EPERM */

/* Refuses the sockets raw_sockets.h lists, so that a container may hold CAP_NET_RAW. Runs in
 * the cgroup of the calling task (socket_create has no socket yet) and, like the others, with
 * the policy of the cgroup it is attached to. Loaded only where the BPF LSM is active (the
 * hook turns autoload off elsewhere, and refuses CAP_NET_RAW there instead); it needs
 * CAP_PERFMON to load, which the hook raises for this program alone. */
SEC("lsm_cgroup/socket_create")
int BPF_PROG(ojh_socket_create, int family, int type, int protocol, int kern) {
  if (!ojh_socket_refused(family, type, protocol, kern)) return LSM_CGROUP_ALLOW;
  const struct ojh_policy* policy = bpf_get_local_storage(&ojh_policy, 0);
  /* An unwritten policy refuses, in audit mode too, as in judge(). */
  const enum ojh_verdict v = policy->policy_id ? OJH_DENY_RAW_SOCKET : OJH_DENY_UNINITIALIZED;
  /* No destination yet: the record names the socket's protocol, and its family where that
   * is not IP (AF_PACKET, AF_XDP, ...): user space shows that instead of an address. */
  struct ojh_destination d = {};
  d.protocol = (__u8)protocol;
  if (family != OJH_AF_INET && family != OJH_AF_INET6) d.family = (__u8)family;
  return permitted(policy, v, OJH_HOOK_SOCKET_CREATE, &d, 1) ? LSM_CGROUP_ALLOW : LSM_CGROUP_DENY;
}

/* ---- AF_UNIX: cgroup/connect_unix and cgroup/sendmsg_unix (Linux 6.7+) -------------------
 * Optional: compiled only into the second object, block_host_unix (bpf/CMakeLists.txt: its
 * kfunc must not stop the first object from loading on 6.1), which the hook loads only where
 * the kernel has the attach types (a trial load, hook/shared_objects.cpp), in a load of
 * their own (below), sharing the first object's maps. The rules are
 * ojh_decide_unix() in block_host_abi.h.
 *
 * The name is not in struct bpf_sock_addr: the kernel's own context (struct
 * bpf_sock_addr_kern, include/linux/filter.h) holds it, reached with the
 * bpf_cast_to_kern_ctx() kfunc (6.2+). That struct is not UAPI, so its fields are read
 * through CO-RE (preserve_access_index: libbpf takes the offsets from the running kernel's
 * BTF; the ___ojh suffix keeps the local definitions from clashing with any header). The
 * verifier lets a program read kernel structs only when its loader holds CAP_PERFMON, so
 * the hook loads these two, and only these, with CAP_PERFMON (docs/security.md). */
#ifdef OJH_WITH_UNIX_PROGRAMS
struct sockaddr___ojh {
  __u16 sa_family;
  char sa_data[14]; /* sun_path starts here */
} __attribute__((preserve_access_index));

struct bpf_sock_addr_kern___ojh {
  struct sockaddr___ojh* uaddr;
  __u32 uaddrlen;
} __attribute__((preserve_access_index));

extern void* bpf_cast_to_kern_ctx(void* obj) __ksym;

static __always_inline int sock_addr_unix(struct bpf_sock_addr* ctx, enum ojh_hook_kind hook) {
  const struct ojh_policy* policy = bpf_get_local_storage(&ojh_policy, 0);
  struct bpf_sock_addr_kern___ojh* kern = bpf_cast_to_kern_ctx(ctx);
  const enum ojh_unix_name name = ojh_unix_name_of(kern->uaddrlen, kern->uaddr->sa_data[0]);
  /* The netns only matters for abstract names; the helper runs only for them. */
  const __u64 netns = name == OJH_UNIX_ABSTRACT ? bpf_get_netns_cookie(ctx) : 0;
  /* The record names the family; the verdict tells an abstract name from a path. */
  struct ojh_destination d = {};
  d.family = OJH_AF_UNIX;
  return permitted(policy, ojh_decide_unix(policy, netns, name), hook, &d, 1) ? SOCK_ALLOW
                                                                              : SOCK_DENY;
}

/* libbpf 1.1 (Debian 12) does not know the section names cgroup/connect_unix and
 * cgroup/sendmsg_unix: the programs are declared as cgroup sock_addr programs through a
 * name every libbpf knows, left out of the default load ("?"), and given their attach type
 * by the loader (kPrograms). */
SEC("?cgroup/connect4")
int ojh_connect_unix(struct bpf_sock_addr* ctx) {
  return sock_addr_unix(ctx, OJH_HOOK_CONNECT_UNIX);
}

SEC("?cgroup/sendmsg4")
int ojh_sendmsg_unix(struct bpf_sock_addr* ctx) {
  return sock_addr_unix(ctx, OJH_HOOK_SENDMSG_UNIX);
}
#endif /* OJH_WITH_UNIX_PROGRAMS */

char LICENSE[] SEC("license") = "Dual BSD/GPL";
