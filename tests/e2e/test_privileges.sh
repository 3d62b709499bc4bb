#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The capability sequence of create-runtime, read from /proc/self/status by the installed
# hook itself (--show-capabilities) while it enforces a real cgroup:
#   start   whatever the runtime gave it (full root)
#   resolve CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_BPF — before a byte of the
#           state is read (SYS_ADMIN + SYS_PTRACE: the container's cgroup namespace, bpffs);
#           the bounding set already cut to CAP_NET_ADMIN + CAP_BPF, no_new_privs on,
#           nothing inheritable or ambient
#   parse   CAP_NET_ADMIN, CAP_BPF — the other two gone once the cgroup is resolved and
#           bpffs is mounted, before the policy annotations and config.json are parsed, and
#           kept for loading and attaching
#   (where the BPF LSM is active or the kernel has the cgroup AF_UNIX hooks, CAP_PERFMON
#   stays permitted, never effective, until the objects are loaded: the kernel loads the
#   lsm_cgroup program, and the AF_UNIX programs that read its socket address, only for it)
#   exit    nothing effective or permitted (the bounding set stays as it was: cutting it
#           further needs CAP_SETPCAP, and the hook never executes anything)
# and the order: the policy and config.json are parsed only after the parse report.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

e2e_require_commands jq
e2e_hook_view "$@"
POSTSTOP=$(e2e_hook_path poststop)

h_bundle "$W/bundle"
h_sleeper ctr
STATE=$(h_state privs "$H_PID" "$W/bundle")
e2e_defer "echo '$STATE' | '$POSTSTOP' poststop"

# Bit numbers from <linux/capability.h>.
CAP_NET_ADMIN=12 CAP_SYS_PTRACE=19 CAP_SYS_ADMIN=21 CAP_PERFMON=38 CAP_BPF=39
mask() {
  local m=0 bit
  for bit in "$@"; do m=$((m | (1 << bit))); done
  printf '%016x' "$m"
}
# Where the BPF LSM is active, or the kernel has the cgroup AF_UNIX hooks, the optional
# programs load only for CAP_PERFMON: the hook keeps it permitted (and in the bounding set),
# never effective outside their load (checked below: effective sets never hold it).
PERFMON=()
if [[ $("$HOOK" status --json | jq -r .bpf_lsm) == true || $(e2e_hook_program_count) == 7 ]]; then
  PERFMON=("$CAP_PERFMON")
fi
WANT_RESOLVE=$(mask $CAP_NET_ADMIN $CAP_SYS_PTRACE $CAP_SYS_ADMIN $CAP_BPF)
WANT_ATTACH=$(mask $CAP_NET_ADMIN $CAP_BPF)
WANT_RESOLVE_PRM=$(mask $CAP_NET_ADMIN $CAP_SYS_PTRACE $CAP_SYS_ADMIN $CAP_BPF "${PERFMON[@]}")
WANT_ATTACH_PRM=$(mask $CAP_NET_ADMIN $CAP_BPF "${PERFMON[@]}")
NONE=0000000000000000

RC=0
OUT=$("$HOOK" --show-capabilities create-runtime <<<"$STATE" 2>&1) || RC=$?
e2e_check "create-runtime succeeded (exit $RC)" test "$RC" = 0
printf '%s\n' "$OUT" | grep '^oci-jail-hook: capabilities' | sed 's/^/    /'

field() {  # PHASE FIELD
  printf '%s\n' "$OUT" | sed -n "s/^oci-jail-hook: capabilities at $1:.* $2:\([0-9a-f]*\).*/\1/p"
}
expect() {  # PHASE FIELD WANT
  local got
  got=$(field "$1" "$2")
  if [[ $got == "$3" ]]; then
    e2e_pass "$1: $2=$3"
  else
    e2e_fail "$1: $2 is '${got:-missing}', want $3"
  fi
}

[[ $(field start CapEff) != "$NONE" ]] || e2e_fail "start: the hook did not start with capabilities"
expect resolve CapEff "$WANT_RESOLVE"
expect resolve CapPrm "$WANT_RESOLVE_PRM"
expect resolve CapBnd "$WANT_ATTACH_PRM"
for f in CapInh CapAmb; do expect resolve "$f" "$NONE"; done
expect resolve NoNewPrivs 1
expect parse CapEff "$WANT_ATTACH"
for f in CapPrm CapBnd; do expect parse "$f" "$WANT_ATTACH_PRM"; done
for f in CapEff CapPrm CapInh CapAmb; do expect exit "$f" "$NONE"; done
expect exit CapBnd "$WANT_ATTACH_PRM"

# What the container's author wrote is parsed only after the parse report: a mistake in an
# annotation, or in config.json, is reported after it, with only CAP_NET_ADMIN + CAP_BPF held.
# parsed_after_drop NAME STATE — runs create-runtime, which must fail with one line that comes
# after the parse report, itself showing the attach set.
parsed_after_drop() {
  local out rc=0 line_parse line_error
  out=$("$HOOK" --show-capabilities create-runtime <<<"$2" 2>&1) || rc=$?
  line_parse=$(printf '%s\n' "$out" | grep -n '^oci-jail-hook: capabilities at parse:' | cut -d: -f1)
  line_error=$(printf '%s\n' "$out" | grep -n "^oci-jail-hook: container $3" | cut -d: -f1)
  if [[ $rc != 0 && -n $line_parse && -n $line_error && $line_parse -lt $line_error &&
    $(printf '%s\n' "$out" | sed -n "${line_parse}p") == *"CapEff:$WANT_ATTACH "* ]]; then
    e2e_pass "$1: parsed after CAP_SYS_ADMIN and CAP_SYS_PTRACE are gone"
  else
    e2e_fail "$1: not parsed after the parse report (exit $rc): $(printf '%s' "$out" | tr '\n' '|')"
  fi
}
h_sleeper bad
parsed_after_drop "a malformed jail.block-host.allow" \
  "$(h_state bad-allow "$H_PID" "$W/bundle" '{"jail.block-host":"true","jail.block-host.allow":"x"}')" \
  "bad-allow: annotation jail.block-host.allow"
mkdir -p "$W/bad-bundle"
printf '{"linux":{},"linux":{}}' >"$W/bad-bundle/config.json"
parsed_after_drop "a malformed config.json" "$(h_state bad-config "$H_PID" "$W/bad-bundle")" \
  "bad-config: config.json: duplicate key"

e2e_check "the container is enforced" \
  test -n "$(e2e_pin_entries /sys/fs/bpf/oci-jail-hook privs)"
e2e_finish
