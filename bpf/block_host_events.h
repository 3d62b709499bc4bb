/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Denial records: what the programs write when they refuse an operation (or, in audit mode,
 * would have refused it), and the per-container rate limit and slot logic that decides
 * whether and where a record is kept. Compiled like block_host_abi.h three ways: into the
 * BPF object, the hook, and the Catch2 unit tests (tests/unit/test_events.cpp), which run
 * this very code natively.
 *
 * Data flow (the spec)
 * --------------------
 * On a denial (ojh_is_denial) of a container whose policy is written (policy_id != 0), the
 * program that judged it calls ojh_emit_denial() (block_host.bpf.c), which
 *   1. finds the container's struct ojh_event_state in the hash ojh_evstate (key: cgroup id),
 *      creating it on the container's first denial: a container that is never denied has
 *      no state and no records, and costs nothing here;
 *   2. under the state's spin lock, asks the token bucket (ojh_rate_admit) for a token and,
 *      when it gets one, takes the next sequence number; without one it only counts the
 *      record as dropped. Nothing else is written for a dropped record: a container that
 *      floods denials costs the host the lock and a few instructions per denial beyond the
 *      burst, whatever it sends;
 *   3. writes the record into slot seq % OJH_EVENT_SLOTS of the hash ojh_recent (key:
 *      cgroup id, slot), so the last OJH_EVENT_SLOTS records of each container stay
 *      readable after the fact (`oci-jail-hook events`), and
 *   4. copies it into the shared ring buffer ojh_events for followers (`events --follow`).
 *      When no follower consumes it the ring fills and the copy fails, which costs nothing.
 * The allowed path never reaches any of this.
 *
 * Release (poststop, gc) deletes the container's state and its OJH_EVENT_SLOTS slot keys:
 * O(own entries), never a walk over other containers' records.
 *
 * Memory: both hashes allocate per entry (BPF_F_NO_PREALLOC). A denied container holds one
 * state entry and at most OJH_EVENT_SLOTS records; with the kernel's per-element overhead
 * (~48 bytes) a record takes 128 bytes, so a container's records cost at most 8 KiB, and
 * only once it has been refused OJH_EVENT_SLOTS times.
 *
 * Rate limit: a token bucket of OJH_EVENT_BURST tokens refilled with OJH_EVENT_RATE tokens per
 * second, kept as GCRA (one timestamp, the "theoretical arrival time"; admitting a record
 * moves it one interval on, and a record is admitted while it is no more than the bucket's
 * depth ahead of now). Exactly equivalent to a token bucket, and one 64-bit word of state.
 *
 * Times are CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns, Linux 5.8+): user space turns
 * them into wall time with the current CLOCK_REALTIME - CLOCK_BOOTTIME offset, so a record
 * read after a suspend or a clock step is placed by today's clock.
 */
#ifndef OJH_BLOCK_HOST_EVENTS_H
#define OJH_BLOCK_HOST_EVENTS_H

#include <linux/bpf.h>
#include <linux/types.h>

#include "block_host_abi.h"

/* Records kept per container (a power of two: the slot is a mask of the sequence number). */
#define OJH_EVENT_SLOTS 64u
/* Token bucket: OJH_EVENT_BURST records at once, then OJH_EVENT_RATE per second. */
#define OJH_EVENT_BURST 64u
#define OJH_EVENT_RATE 32u
#define OJH_EVENT_INTERVAL_NS (1000000000ull / OJH_EVENT_RATE)
/* How far ahead of now the theoretical arrival time may be for a record to be admitted. */
#define OJH_EVENT_TOLERANCE_NS ((OJH_EVENT_BURST - 1) * OJH_EVENT_INTERVAL_NS)
/* Capacity of the record hash: OJH_EVENT_SLOTS records of 4,096 denied containers at once
 * (a ceiling, not a cost); a container denied when it is full keeps its older records. */
#define OJH_MAX_EVENT_RECORDS (OJH_EVENT_SLOTS * 4096u)
#define OJH_MAX_EVENT_STATES 65536u
/* The shared ring for followers: a power of two of pages. */
#define OJH_EVENT_RING_BYTES (256u * 1024u)

/* ojh_event.flags */
#define OJH_EVENT_AUDITED 1u /* audit mode: the operation was allowed */

/* One denial record, 64 bytes, written in whole 64-bit words (see "Verifier-proof glue" in
 * block_host_abi.h): ojh_event_words. */
struct ojh_event {
  __u64 time_ns;   /* CLOCK_BOOTTIME */
  __u64 cgroup_id; /* the container's cgroup (its policy id) */
  __u32 addr[4];   /* destination, memory (network) order; IPv4 in addr[0] */
  __u32 pid;       /* thread group id of the caller; 0 where unknown (egress) */
  __u8 family;     /* OJH_AF_INET or OJH_AF_INET6, after IPv4-mapped normalization */
  __u8 protocol;   /* IPPROTO_* */
  __u16 port_be;   /* destination port, network order; 0 where none */
  __u8 hook;       /* enum ojh_hook_kind */
  __u8 verdict;    /* enum ojh_verdict: why it was refused */
  __u8 flags;      /* OJH_EVENT_* */
  __u8 reserved;
  __u32 seq;       /* the container's record number: slot = seq % OJH_EVENT_SLOTS */
  char comm[16];   /* zero: bpf_get_current_comm needs CAP_PERFMON; user space fills it */
};

union ojh_event_words {
  struct ojh_event event;
  __u64 w[8];
};

/* Key of ojh_recent. */
struct ojh_event_key {
  __u64 cgroup_id;
  __u64 slot;
};

/* Value of ojh_evstate, one per container that was ever denied. */
struct ojh_event_state {
  struct bpf_spin_lock lock;
  __u32 reserved;
  __u64 tat;     /* token bucket: theoretical arrival time of the next record (boot ns) */
  __u64 seq;     /* records admitted so far */
  __u64 dropped; /* records refused by the token bucket */
};

/* Token bucket (GCRA): whether a record at `now` gets a token; moves *tat when it does. */
static inline int ojh_rate_admit(__u64* tat, __u64 now) {
  const __u64 t = *tat > now ? *tat : now;
  if (t - now > OJH_EVENT_TOLERANCE_NS) return 0;
  *tat = t + OJH_EVENT_INTERVAL_NS;
  return 1;
}

static inline __u64 ojh_event_slot(__u64 seq) { return seq & (OJH_EVENT_SLOTS - 1); }

/* Writes every field but comm (words 6 and 7, which the caller zeroes) in whole words. */
static inline void ojh_event_set(union ojh_event_words* e, __u64 now, __u64 cgroup_id,
                                 const struct ojh_destination* d, __u32 pid, __u32 hook,
                                 __u32 verdict, __u32 flags, __u64 seq) {
  e->w[0] = now;
  e->w[1] = cgroup_id;
  e->w[2] = OJH_WORD(d->addr[0], d->addr[1]);
  e->w[3] = OJH_WORD(d->addr[2], d->addr[3]);
  e->w[4] = OJH_WORD(pid, OJH_BYTES_HALF(d->family, d->protocol, d->port_be));
  e->w[5] = OJH_WORD(OJH_BYTES_HALF(hook, verdict, flags), seq);
}

#endif /* OJH_BLOCK_HOST_EVENTS_H */
