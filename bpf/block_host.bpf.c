// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kernel side of oci-jail-hook: cgroup sock_addr programs that refuse connect() and
 * sendmsg() towards the host. The rules are stated in block_host_abi.h; this file only
 * gathers the inputs (destination, netns, policy, rule lookup) and applies the verdict.
 *
 * Loaded once per host and pinned; each container gets bpf_links of these programs on its
 * cgroup plus its own policy in the shared cgroup storage and rule tries.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "block_host_abi.h"

#define SOCK_ALLOW 1
#define SOCK_DENY 0 /* the kernel turns this into EPERM for the application */

/* Sized for ~64 rules per container over ~1000 containers per family; user space may
 * resize before load. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct ojh_lpm_key4);
  __type(value, struct ojh_rule);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} ojh_rules4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct ojh_lpm_key6);
  __type(value, struct ojh_rule);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} ojh_rules6 SEC(".maps");

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

static __always_inline int apply(const struct ojh_policy* policy, enum ojh_verdict verdict,
                                 enum ojh_hook_kind hook) {
  if (verdict == OJH_ALLOW) return SOCK_ALLOW;
  struct ojh_counters* counters = bpf_get_local_storage(&ojh_counters, 0);
  if (policy->flags & OJH_POLICY_AUDIT) {
    counters->audited[hook]++;
    return SOCK_ALLOW;
  }
  counters->denied[hook]++;
  return SOCK_DENY;
}

static __always_inline int judge4(struct bpf_sock_addr* ctx, const __u8 addr[4],
                                  enum ojh_hook_kind hook) {
  const struct ojh_policy* policy = bpf_get_local_storage(&ojh_policy, 0);
  struct ojh_lpm_key4 key;
  const struct ojh_rule* hit = 0;
  int local = ojh_is_loopback_or_unspec4(addr);

  if (!local && policy->policy_id) {
    ojh_key4_set(&key, policy->policy_id, addr, 32);
    hit = bpf_map_lookup_elem(&ojh_rules4, &key);
  }
  return apply(policy, ojh_decide(policy, bpf_get_netns_cookie(ctx), local, hit), hook);
}

static __always_inline int judge6(struct bpf_sock_addr* ctx, enum ojh_hook_kind hook) {
  const struct ojh_policy* policy = bpf_get_local_storage(&ojh_policy, 0);
  struct ojh_lpm_key6 key;
  const struct ojh_rule* hit = 0;
  __u32 words[4];
  __u8 addr4[4];

  words[0] = ctx->user_ip6[0];
  words[1] = ctx->user_ip6[1];
  words[2] = ctx->user_ip6[2];
  words[3] = ctx->user_ip6[3];
  const __u8* addr = (const __u8*)words;

  /* Dual-stack sockets reach IPv4 destinations through here: judge them as IPv4. */
  if (ojh_v4_mapped(addr, addr4)) return judge4(ctx, addr4, hook);

  int local = ojh_is_loopback_or_unspec6(addr);
  if (!local && policy->policy_id) {
    ojh_key6_set(&key, policy->policy_id, addr, 128);
    hit = bpf_map_lookup_elem(&ojh_rules6, &key);
  }
  return apply(policy, ojh_decide(policy, bpf_get_netns_cookie(ctx), local, hit), hook);
}

static __always_inline int judge_ctx4(struct bpf_sock_addr* ctx, enum ojh_hook_kind hook) {
  __u32 ip = ctx->user_ip4;
  return judge4(ctx, (const __u8*)&ip, hook);
}

SEC("cgroup/connect4")
int ojh_connect4(struct bpf_sock_addr* ctx) { return judge_ctx4(ctx, OJH_HOOK_CONNECT4); }

SEC("cgroup/sendmsg4")
int ojh_sendmsg4(struct bpf_sock_addr* ctx) { return judge_ctx4(ctx, OJH_HOOK_SENDMSG4); }

SEC("cgroup/connect6")
int ojh_connect6(struct bpf_sock_addr* ctx) {
  return judge6(ctx, OJH_HOOK_CONNECT6);
}

SEC("cgroup/sendmsg6")
int ojh_sendmsg6(struct bpf_sock_addr* ctx) {
  return judge6(ctx, OJH_HOOK_SENDMSG6);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
