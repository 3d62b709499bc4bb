#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The capability sequence of create-runtime, read from /proc/self/status by the installed
# hook itself (--show-capabilities) while it enforces a real cgroup:
#   start   whatever the runtime gave it (full root)
#   parse   CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_BPF — before a byte of the
#           state is read (SYS_ADMIN + SYS_PTRACE: the container's cgroup namespace, bpffs);
#           the bounding set already cut to CAP_NET_ADMIN + CAP_BPF, no_new_privs on,
#           nothing inheritable or ambient
#           + CAP_PERFMON permitted only (not effective): raised for the one load of the
#           AF_UNIX programs (issue 13)
#   attach  CAP_NET_ADMIN, CAP_BPF — the other two gone once the cgroup is resolved and
#           bpffs is mounted; CAP_PERFMON still permitted only, until the objects are loaded
#   exit    nothing effective or permitted (the bounding set stays as it was: cutting it
#           further needs CAP_SETPCAP, and the hook never executes anything)
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
WANT_PARSE=$(mask $CAP_NET_ADMIN $CAP_SYS_PTRACE $CAP_SYS_ADMIN $CAP_BPF)
WANT_PARSE_PRM=$(mask $CAP_NET_ADMIN $CAP_SYS_PTRACE $CAP_SYS_ADMIN $CAP_PERFMON $CAP_BPF)
WANT_ATTACH=$(mask $CAP_NET_ADMIN $CAP_BPF)
WANT_ATTACH_PRM=$(mask $CAP_NET_ADMIN $CAP_PERFMON $CAP_BPF)
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
expect parse CapEff "$WANT_PARSE"
expect parse CapPrm "$WANT_PARSE_PRM"
expect parse CapBnd "$WANT_ATTACH"
for f in CapInh CapAmb; do expect parse "$f" "$NONE"; done
expect parse NoNewPrivs 1
for f in CapEff CapBnd; do expect attach "$f" "$WANT_ATTACH"; done
expect attach CapPrm "$WANT_ATTACH_PRM"
for f in CapEff CapPrm CapInh CapAmb; do expect exit "$f" "$NONE"; done
expect exit CapBnd "$WANT_ATTACH"
e2e_check "the container is enforced" \
  test -n "$(e2e_pin_entries /sys/fs/bpf/oci-jail-hook privs)"
e2e_finish
