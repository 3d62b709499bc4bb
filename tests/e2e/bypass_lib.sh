# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # jq programs are single-quoted on purpose
#
# Machinery of test_bypass.sh: a wider topology than lib.sh's (every metadata address, a
# second host interface, a peer netns behind the host), listeners on every side, long-running
# containers that each run a table of jail-probe probes in two phases — in their own cgroup,
# then moved into a sub-cgroup — all started together and stepped through the phases as one
# batch, and the verdict of each probe from its own output line and the listener logs.
# Source it after lib.sh.
#
# A probe is "CLASS|JAIL-PROBE-ARGS" (without the tag), CLASS one of
#   host  a path to the host: blocked when enforced, reached otherwise
#   risk  a path to the host that no cgroup program can see (AF_PACKET), run only where the
#         admin config accepts CAP_NET_RAW: it reaches in every mode, and in enforce mode it
#         is reported as an accepted risk (RISK line), never as a pass of the block
#   own   the container's own loopback (own netns only): reached in every mode
#   peer  a non-host address behind the host (a third netns): reached in every mode
#
# Variants of the bundle:
#   default  runc spec's capabilities (no CAP_NET_RAW), hooks wired from hooks.d as shipped
#   netraw   CAP_NET_RAW in every capability set, and the hooks run with --config naming an
#            admin config that says allow-capabilities = CAP_NET_RAW

BP_PORT=18090      # listeners of the fake host and the peer
BP_OWN_PORT=19090  # listeners on the container netns's own loopback
BP_HOST2_V4=10.200.1.1
BP_HOST2_V6=fd00:201::1
BP_PEER_V4=10.200.1.2
BP_PEER_V6=fd00:201::2
# Metadata-like addresses lib.sh does not add; they go beside the others on the fake host.
BP_EXTRA_META_V4=(169.254.170.2 100.100.100.200 169.254.1.2)
BP_PROGRAMS=(connect4 connect6 sendmsg4 sendmsg6 egress)
# shellcheck disable=SC2034  # test_bypass.sh runs them
BP_MODES=(none enforce audit)
# What the hook must say when a container may hold CAP_NET_RAW without the admin's consent.
# shellcheck disable=SC2034  # test_bypass.sh checks it
# Where the BPF LSM refuses raw sockets CAP_NET_RAW is accepted; elsewhere the line says why
# it cannot (which differs between hosts), so only its fixed start is compared.
BP_NET_RAW_REFUSAL="the container may hold CAP_NET_RAW, which can get around cgroup BPF (see docs/policy.md); CAP_NET_RAW's sockets cannot be refused instead: "
BP_RISK_CELL="reached (accepted: CAP_NET_RAW allowed by admin)"

declare -A BP_LOGS      # side (host|peer|own) -> listener log files, space separated
BP_BARRIERS=()          # "NETNS|PROTO|ADDR|PORT|LOG" of every listener, for bp_barriers
declare -A BP_CELL      # "VARIANT|ROW|MODE" -> table cell
BP_ROWS=()              # "VARIANT|ROW" in order
BP_BYPASSES=()
BP_FALSE_BLOCKS=()
BP_BROKEN=()
BP_SKIPPED=()
BP_RISKS=()             # accepted risks that showed (AF_PACKET, netraw variant, enforce)
BP_SCTP=0               # does this kernel have SCTP (listeners started)?
BP_REFUSAL_CASES=0

# Seconds since the script started, for the runtime budget (ctest runs it serially).
bp_elapsed() { echo "$SECONDS"; }

bp_mode_title() {
  case $1 in
    none) echo "no annotation" ;;
    *) echo "$1" ;;
  esac
}

bp_variant_title() {
  case $1 in
    default) echo "default policy" ;;
    netraw) echo "CAP_NET_RAW allowed by admin" ;;
  esac
}

bp_title() {  # VARIANT MODE
  echo "$(bp_variant_title "$1"), $(bp_mode_title "$2")"
}

# ---------------------------------------------------------------------------------------
# Topology, on top of e2e_setup_network:
#
#   ojh-p-PID (peer)            ojh-h-PID (fake host)                 ojh-c-PID (container)
#     vp 10.200.1.2/24  <->  vhp 10.200.1.1/24     vh 10.200.0.1/24  <->  vc 10.200.0.2/24
#        fd00:201::2/64          fd00:201::1/64       fd00:200::1/64          fd00:200::2/64
#     routes back to the         lo: 169.254.169.254 10.0.2.2 169.254.170.2 100.100.100.200
#     container subnets          169.254.1.2 fd00:ec2::254; forwarding on
#                                                      routes: each metadata address and
#                                                      the peer subnets via the fake host
bp_setup_topology() {
  local addr
  for addr in "${BP_EXTRA_META_V4[@]}"; do
    _e2e_ip "$E2E_HOST_NS" addr add "$addr/32" dev "$E2E_META_DEV"
    _e2e_ip "$E2E_CT_NS" route add "$addr/32" via "$E2E_HOST_V4"
  done

  BP_PEER_NS=ojh-p-$$
  BP_PEER_NETNS=/run/netns/$BP_PEER_NS
  e2e_add_netns "$BP_PEER_NS"
  # With link-local addresses, as vh/vc (see e2e_add_veth): without them forwarded traffic to
  # the peer's v6 address was dropped now and then, a "must reach" failure of the controls.
  e2e_add_veth "$E2E_HOST_NS" vhp "$BP_HOST2_V4" "$BP_HOST2_V6" \
    "$BP_PEER_NS" vp "$BP_PEER_V4" "$BP_PEER_V6"
  _e2e_ip "$BP_PEER_NS" route add "${E2E_CT_V4%.*}.0/24" via "$BP_HOST2_V4"
  _e2e_ip "$BP_PEER_NS" -6 route add "${E2E_CT_V6%::*}::/64" via "$BP_HOST2_V6"
  _e2e_ip "$E2E_CT_NS" route add "${BP_PEER_V4%.*}.0/24" via "$E2E_HOST_V4"
  _e2e_ip "$E2E_CT_NS" -6 route add "${BP_PEER_V6%::*}::/64" via "$E2E_HOST_V6"

  # Per-netns sysctls, written from inside each test netns: forwarding on the fake host
  # (the peer sits behind it; it also gives the host its subnet-router anycast addresses),
  # and unprivileged ping sockets for uid/gid 0 wherever a container runs (the fake host's
  # netns is the host-netns container's) — they need no capability, only this range.
  bp_sysctl "$E2E_HOST_NETNS" net/ipv4/ip_forward 1
  bp_sysctl "$E2E_HOST_NETNS" net/ipv6/conf/all/forwarding 1
  bp_sysctl "$E2E_HOST_NETNS" net/ipv4/ping_group_range "0 2147483647"
  bp_sysctl "$E2E_CT_NETNS" net/ipv4/ping_group_range "0 2147483647"
  if ! _e2e_wait_v6_ready "$E2E_HOST_NS" || ! _e2e_wait_v6_ready "$BP_PEER_NS"; then
    e2e_die "IPv6 addresses stayed tentative"
  fi
}

bp_sysctl() {  # NETNS-PATH KEY VALUE
  e2e_in_netns "$1" sh -c 'echo "$1" >"/proc/sys/$0"' "$2" "$3" ||
    e2e_die "setting $2=$3 in $1"
}

# ---------------------------------------------------------------------------------------
# Listeners: wildcard ones (every address of their netns) on the fake host and the peer, and
# loopback ones in the container netns (its "own" side). The test starts them all from
# outside the containers: they are not in any container's cgroup, and every own-netns
# container of the batch shares them. Tags tell the probes apart, so one listener per
# protocol and family is enough.

bp_listen() {  # SIDE NETNS-PATH PROTO ADDR PORT BARRIER-ADDR
  local side=$1 netns=$2 proto=$3 addr=$4 port=$5
  [[ $proto == icmp ]] && port=0
  e2e_listen "$netns" "$proto" "$addr" "$port"
  BP_LOGS[$side]+=" $E2E_LISTEN_LOG"
  BP_BARRIERS+=("$netns|$proto|$6|$port|$E2E_LISTEN_LOG")
}

bp_start_listeners() {
  local side netns protos proto sctp
  sctp=$(e2e_in_netns "$E2E_HOST_NETNS" "$PROBE" sctp 127.0.0.1 "$BP_PORT" 2>&1 || true)
  if [[ $sctp == *": unsupported"* ]]; then
    e2e_log "this kernel has no SCTP: SCTP probes are skipped"
  else
    BP_SCTP=1
  fi
  protos="tcp udp icmp"
  ((BP_SCTP)) && protos+=" sctp"
  for side in host peer; do
    netns=$E2E_HOST_NETNS
    [[ $side == peer ]] && netns=$BP_PEER_NETNS
    for proto in $protos; do
      bp_listen "$side" "$netns" "$proto" 0.0.0.0 "$BP_PORT" 127.0.0.1
      bp_listen "$side" "$netns" "$proto" :: "$BP_PORT" ::1
    done
  done
  for proto in tcp udp; do
    bp_listen own "$E2E_CT_NETNS" "$proto" 127.0.0.1 "$BP_OWN_PORT" 127.0.0.1
    bp_listen own "$E2E_CT_NETNS" "$proto" ::1 "$BP_OWN_PORT" ::1
  done
  bp_listen own "$E2E_CT_NETNS" icmp 0.0.0.0 0 127.0.0.1
  bp_listen own "$E2E_CT_NETNS" icmp :: 0 ::1
}

# Afterwards every listener has logged everything sent to it before (see lib.sh).
bp_barriers() {
  local entry netns proto addr port log tag i
  for entry in "${BP_BARRIERS[@]}"; do
    IFS='|' read -r netns proto addr port log <<<"$entry"
    if [[ $proto == tcp || $proto == udp ]]; then
      e2e_listener_barrier "$netns" "$proto" "$addr" "$port" "$log"
      continue
    fi
    tag=barrier-$RANDOM$RANDOM
    if [[ $proto == icmp ]]; then
      e2e_in_netns "$netns" "$PROBE" ping "$addr" "$tag" >/dev/null 2>&1 ||
        e2e_die "barrier ping to $addr failed"
    else
      e2e_in_netns "$netns" "$PROBE" "$proto" "$addr" "$port" "$tag" >/dev/null 2>&1 ||
        e2e_die "barrier $proto probe to $addr failed"
    fi
    for ((i = 0; i < 50; i++)); do
      e2e_logged "$log" "$tag" && break
      sleep 0.1
    done
    ((i < 50)) || e2e_die "listener $proto $addr never logged its barrier"
  done
}

# ---------------------------------------------------------------------------------------
# Bundles

# bp_bundle_add_cap CAP [SET] — adds CAP to SET of E2E_BUNDLE, or to every set runc spec
# lists (bounding, effective, permitted, ambient).
bp_bundle_add_cap() {
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg cap "$1" --arg set "${2:-}" '
    .process.capabilities |= with_entries(
      if $set == "" or .key == $set then .value |= (. + [$cap] | unique) else . end)' ||
    e2e_die "adding $1 to the bundle's capabilities"
}

bp_bundle_annotate() {  # KEY VALUE
  _e2e_jq_inplace "$E2E_BUNDLE/config.json" --arg k "$1" --arg v "$2" \
    '.annotations[$k] = $v' || e2e_die "adding annotation $1"
}

# The admin config of the netraw variant: root-owned and 0644, as the hook demands.
bp_write_admin_config() {  # sets BP_ADMIN_CONFIG
  BP_ADMIN_CONFIG=$E2E_RUN_DIR/admin-allow-net-raw.conf
  cat >"$BP_ADMIN_CONFIG" <<'EOF'
# The admin accepts containers that may hold CAP_NET_RAW (AF_PACKET gets past cgroup BPF).
allow-capabilities = CAP_NET_RAW
EOF
  if ! chown 0:0 "$BP_ADMIN_CONFIG" || ! chmod 0644 "$BP_ADMIN_CONFIG"; then
    e2e_die "making $BP_ADMIN_CONFIG root-owned 0644"
  fi
}

# Runs every hook of E2E_BUNDLE that is our binary with `--config FILE` in front of its
# command, the way an admin's own hooks.d file would; call it after e2e_bundle_wire_hooks.
# A bundle without our hooks (no annotation) is left alone.
bp_bundle_use_admin_config() {  # FILE
  local config=$E2E_BUNDLE/config.json
  _e2e_jq_inplace "$config" --arg hook "$HOOK" --arg conf "$1" '
    if .hooks then
      .hooks |= with_entries(.value |= map(
        if .path == $hook then .args = [.args[0], "--config", $conf] + .args[1:] else . end))
    else . end' || e2e_die "adding --config to the hooks of $config"
  if jq -e --arg hook "$HOOK" '[.hooks[]?[]? | select(.path == $hook)] | length > 0' \
    "$config" >/dev/null; then
    jq -e --arg hook "$HOOK" --arg conf "$1" '
      all(.hooks[][] | select(.path == $hook); .args[1:3] == ["--config", $conf])' \
      "$config" >/dev/null || e2e_die "not every hook of $config got --config $1"
  fi
}

bp_hook_status() {  # ID — the container's object in `status --json`, or null
  "$HOOK" --pin-dir "$PIN_DIR" status --json |
    jq -c --arg id "$1" 'first(.containers[] | select(.id == $id)) // null'
}

# ---------------------------------------------------------------------------------------
# Capability refusal: one short-lived container per case, run to its end.

# bp_refusal_case TITLE ANNOTATION ADMIN-CONFIG EXPECTED-CAUSE CAP[@SET]...
#   ANNOTATION      value of jail.block-host, or "-" for none
#   ADMIN-CONFIG    file for --config, or "-" for the hooks as shipped (no --config)
#   EXPECTED-CAUSE  what the hook's one line must say after "container <id>: ", or "-":
#                   the container must run
#   CAP[@SET]       capabilities added to the bundle, to every set or to SET only
bp_refusal_case() {
  local title=$1 annotation=$2 conf=$3 cause=$4
  shift 4
  local n=$((BP_REFUSAL_CASES += 1))
  local id=ojh-bp-$$-cap$n shared=$E2E_RUN_DIR/shared-cap$n out=$E2E_RUN_DIR/cap$n.out rc=0 cap
  mkdir -p "$shared"
  e2e_make_bundle "bp-cap$n" own "$annotation" 'touch /shared/ran; echo container-ran'
  for cap in "$@"; do
    if [[ $cap == *@* ]]; then bp_bundle_add_cap "${cap%@*}" "${cap#*@}"; else bp_bundle_add_cap "$cap"; fi
  done
  e2e_bundle_bind "$shared" /shared
  e2e_bundle_wire_hooks
  [[ $conf != - ]] && bp_bundle_use_admin_config "$conf"
  e2e_runc_run "$id" "$E2E_BUNDLE" "$out" || rc=$?
  if [[ $cause == - ]]; then
    if ((rc == 0)) && [[ -e $shared/ran ]] && grep -qx container-ran "$out"; then
      e2e_pass "$title: runc run succeeded and the command ran"
    else
      e2e_fail "$title: must run: runc exited $rc, command ran: $([[ -e $shared/ran ]] &&
        echo yes || echo no): $(tail -n 3 "$out" | tr '\n' ' ')"
    fi
    return 0
  fi
  if ((rc != 0)); then
    e2e_pass "$title: runc run failed (exit $rc)"
  else
    e2e_fail "$title: runc run succeeded: the container was not refused"
  fi
  if [[ ! -e $shared/ran ]] && ! grep -q container-ran "$out"; then
    e2e_pass "$title: the container's command never ran"
  else
    e2e_fail "$title: the container's command ran"
  fi
  local want="oci-jail-hook: container $id: $cause"
  if grep -qF -- "$want" "$out"; then
    e2e_pass "$title: the hook says why: '$cause'"
  else
    e2e_fail "$title: expected '$want' in runc's output, got: $(tail -n 3 "$out" | tr '\n' ' ')"
  fi
  if [[ $(bp_hook_status "$id") == null && -z $(e2e_pin_entries "$PIN_DIR" "$id") ]]; then
    e2e_pass "$title: nothing is enforced or pinned for it"
  else
    e2e_fail "$title: the refused container left state: $(bp_hook_status "$id")"
  fi
}

# ---------------------------------------------------------------------------------------
# The probe containers: one script per (variant, mode, topology). It talks to the test
# through files in /shared (a bind mount): ready -> go-main -> main-done -> go-sub ->
# sub-done -> go-exit. Tags carry the run's name, so that every container of the batch can
# use the same listeners at the same time.

# bp_container_script RUN MAIN-ARRAY SUB-ARRAY
bp_container_script() {
  local run=$1
  e2e_sh_wait_for 120
  echo "echo container-started"
  echo "touch /shared/ready"
  echo "wait_for /shared/go-main"
  _bp_probe_lines "$run" m "$2"
  echo "touch /shared/main-done"
  echo "wait_for /shared/go-sub"
  echo "echo \"cgroup: \$(grep '^0::' /proc/self/cgroup)\""
  _bp_probe_lines "$run" s "$3"
  echo "touch /shared/sub-done"
  echo "wait_for /shared/go-exit"
  echo "echo container-done"
}

_bp_probe_lines() {  # RUN PREFIX ARRAY-NAME — one "result PREFIX<i>: ..." line a probe
  local run=$1 prefix=$2 i class args
  local -n probes=$3
  for i in "${!probes[@]}"; do
    IFS='|' read -r class args <<<"${probes[i]}"
    echo "echo \"result $prefix$i: \$(jail-probe $args '$run/$prefix$i' 2>&1)\""
  done
}

# Moves every process of the container into <container cgroup>/sub. Processes forked
# meanwhile by one not moved yet land in the old cgroup: repeat until it is empty.
bp_move_to_subcgroup() {  # ID
  local id=$1 pid rel cg procs p try
  pid=$(e2e_runc state "$id" | jq -r '.pid') || return 1
  rel=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
  [[ -n $rel && $rel != / ]] || return 1
  cg=$BP_CG2$rel
  mkdir -p "$cg/sub" || return 1
  for ((try = 0; try < 50; try++)); do
    procs=$(cat "$cg/cgroup.procs")
    [[ -z $procs ]] && return 0
    for p in $procs; do echo "$p" >"$cg/sub/cgroup.procs" 2>/dev/null || true; done
  done
  return 1
}

# Per run: "VARIANT|TOPOLOGY|MODE|MAIN-ARRAY|SUB-ARRAY", the runc PID, and how far it got.
BP_RUNS=()
declare -A BP_RUN_SPEC BP_RUN_PID BP_RUN_STARTED BP_RUN_MOVED BP_RUN_BEFORE BP_RUN_AFTER

bp_run_dir() { echo "$E2E_RUN_DIR/shared-$1"; }
bp_run_out() { echo "$E2E_RUN_DIR/$1.out"; }
bp_run_id() { echo "ojh-bp-$$-$1"; }

# bp_start VARIANT TOPOLOGY MODE MAIN-ARRAY SUB-ARRAY — starts the container (runc run in
# the background); bp_run_batch steps every started container through the phases.
bp_start() {
  local variant=$1 topo=$2 mode=$3 main_name=$4 sub_name=$5
  local run=$variant-$mode-$topo net=host annotation=- pid
  local id shared out
  id=$(bp_run_id "$run")
  shared=$(bp_run_dir "$run")
  out=$(bp_run_out "$run")
  [[ $topo == ownnet ]] && net=own
  [[ $mode != none ]] && annotation=true
  mkdir -p "$shared"
  e2e_make_bundle "bp-$run" "$net" "$annotation" \
    "$(bp_container_script "$run" "$main_name" "$sub_name")"
  [[ $variant == netraw ]] && bp_bundle_add_cap CAP_NET_RAW
  [[ $mode == audit ]] && bp_bundle_annotate jail.block-host.mode audit
  e2e_bundle_bind "$shared" /shared
  e2e_bundle_wire_hooks
  [[ $variant == netraw ]] && bp_bundle_use_admin_config "$BP_ADMIN_CONFIG"

  e2e_log "$(bp_elapsed) s: $run: starting the container"
  e2e_runc_start "$id" "$E2E_BUNDLE" "$out"
  pid=$E2E_RUNC_PID
  BP_RUNS+=("$run")
  BP_RUN_SPEC[$run]="$variant|$topo|$mode|$main_name|$sub_name"
  BP_RUN_PID[$run]=$pid
  BP_RUN_STARTED[$run]=0
  BP_RUN_MOVED[$run]=0
  BP_RUN_BEFORE[$run]=null
  BP_RUN_AFTER[$run]=null
}

bp_run_what() {  # RUN — "TITLE: TOPOLOGY" for messages
  local variant topo mode rest
  IFS='|' read -r variant topo mode rest <<<"${BP_RUN_SPEC[$1]}"
  echo "$(bp_title "$variant" "$mode"): $topo"
}

bp_run_mode() {  # RUN
  local variant topo mode rest
  IFS='|' read -r variant topo mode rest <<<"${BP_RUN_SPEC[$1]}"
  echo "$mode"
}

# Waits for a container to finish a phase of its probes (it touches DONE-FILE); a failure
# when it does not within SECONDS.
bp_wait_phase() {  # RUN DONE-FILE SECONDS PROBES
  e2e_wait_file "$(bp_run_dir "$1")/$2" "$3" "${BP_RUN_PID[$1]}" ||
    e2e_fail "$(bp_run_what "$1"): the container never finished its $4"
}

# Steps every started container through the phases together, then judges each.
bp_run_batch() {
  local run pid shared out what mode rc
  for run in "${BP_RUNS[@]}"; do
    if e2e_wait_file "$(bp_run_dir "$run")/ready" 300 "${BP_RUN_PID[$run]}"; then
      BP_RUN_STARTED[$run]=1
    else
      e2e_fail "$(bp_run_what "$run"): the container did not start: $(tail -n 3 \
        "$(bp_run_out "$run")" | tr '\n' ' ')"
    fi
  done
  for run in "${BP_RUNS[@]}"; do
    [[ ${BP_RUN_STARTED[$run]} == 1 ]] || continue
    [[ $(bp_run_mode "$run") != none ]] &&
      { BP_RUN_BEFORE[$run]=$(bp_hook_status "$(bp_run_id "$run")") || BP_RUN_BEFORE[$run]=null; }
    touch "$(bp_run_dir "$run")/go-main"
  done
  for run in "${BP_RUNS[@]}"; do
    [[ ${BP_RUN_STARTED[$run]} == 1 ]] || continue
    bp_wait_phase "$run" main-done 1200 "main probes"
    if bp_move_to_subcgroup "$(bp_run_id "$run")"; then
      BP_RUN_MOVED[$run]=1
    else
      e2e_fail "$(bp_run_what "$run"): could not move the container into a sub-cgroup"
    fi
    touch "$(bp_run_dir "$run")/go-sub"
  done
  for run in "${BP_RUNS[@]}"; do
    [[ ${BP_RUN_STARTED[$run]} == 1 ]] || continue
    bp_wait_phase "$run" sub-done 600 "sub-cgroup probes"
    [[ $(bp_run_mode "$run") != none ]] &&
      { BP_RUN_AFTER[$run]=$(bp_hook_status "$(bp_run_id "$run")") || BP_RUN_AFTER[$run]=null; }
    echo "${BP_RUN_AFTER[$run]}" >"$E2E_RUN_DIR/$run.status.json"
    touch "$(bp_run_dir "$run")/go-exit"
  done
  for run in "${BP_RUNS[@]}"; do
    what=$(bp_run_what "$run")
    out=$(bp_run_out "$run")
    rc=0
    e2e_wait_exit "${BP_RUN_PID[$run]}" 300 || rc=$?
    if ((rc == 0)); then
      e2e_pass "$what: runc run succeeded"
    else
      e2e_fail "$what: runc run exited $rc: $(tail -n 3 "$out" | tr '\n' ' ')"
    fi
    e2e_check "$what: the container ran to its end" grep -qx container-done "$out"
    if [[ ${BP_RUN_MOVED[$run]} == 1 ]]; then
      e2e_check "$what: the sub-cgroup probes ran in <container>/sub" \
        grep -q '^cgroup: 0::/\(.*/\)\?sub$' "$out"
    fi
  done

  e2e_log "$(bp_elapsed) s: every container has run its probes"
  bp_barriers
  bp_index_arrivals
  local variant topo main_name sub_name
  for run in "${BP_RUNS[@]}"; do
    IFS='|' read -r variant topo mode main_name sub_name <<<"${BP_RUN_SPEC[$run]}"
    out=$(bp_run_out "$run")
    bp_judge_probes "$variant" "$topo" "$mode" "$run" "$out" m "$main_name"
    bp_judge_probes "$variant" "$topo" "$mode" "$run" "$out" s "$sub_name"
    [[ ${BP_RUN_STARTED[$run]} == 1 ]] &&
      bp_check_counters "$variant" "$topo" "$mode" "${BP_RUN_BEFORE[$run]}" "${BP_RUN_AFTER[$run]}"
  done
  e2e_log "$(bp_elapsed) s: every probe is judged"
  return 0
}

# ---------------------------------------------------------------------------------------
# Verdicts

bp_kind() {  # JAIL-PROBE-ARGS — sets BP_KIND. sock: a socket call the sock_addr hooks
  # answer with EPERM; pkt: a packet only the egress backstop sees (EPERM from the send, or
  # nothing)
  case ${1%% *} in
    ping | dgram-ping | dgram-ping-connect | raw-udp | raw-udp-hdrincl | packet-udp) BP_KIND=pkt ;;
    *) BP_KIND=sock ;;
  esac
}

# What arrived where, read once after the barriers: "SIDE|TAG" -> 1. Judging ~1,300 probes
# with a grep of every log each took most of the runtime.
declare -A BP_ARRIVED
bp_index_arrivals() {
  local side log tag logs
  BP_ARRIVED=()
  for side in host peer own; do
    read -ra logs <<<"${BP_LOGS[$side]}"
    for log in "${logs[@]}"; do
      while IFS= read -r tag; do
        BP_ARRIVED["$side|$tag"]=1
      done < <(sed -n 's/^[a-z]* [^ ]* [0-9]*: probe //p' "$log")
    done
  done
}

# bp_judge_probes VARIANT TOPOLOGY MODE RUN OUTFILE PHASE(m|s) ARRAY
bp_judge_probes() {
  local variant=$1 topo=$2 mode=$3 run=$4 out=$5 phase=$6 i class args line verdict row side
  local -n probes=$7
  local -A results=()
  while IFS= read -r line; do
    [[ $line == "result $phase"[0-9]*": "* ]] || continue
    line=${line#result }
    [[ -n ${results[${line%%: *}]+x} ]] || results[${line%%: *}]=${line#*: }
  done <"$out"
  local title
  title=$(bp_title "$variant" "$mode")
  for i in "${!probes[@]}"; do
    IFS='|' read -r class args <<<"${probes[i]}"
    row="$topo $args"
    [[ $phase == s ]] && row="$topo/sub $args"
    [[ -n ${BP_CELL["$variant|$row|none"]+x} || -n ${BP_CELL["$variant|$row|enforce"]+x} ||
      -n ${BP_CELL["$variant|$row|audit"]+x} ]] || BP_ROWS+=("$variant|$row")
    line=${results[$phase$i]:-}
    if [[ -z $line ]]; then
      verdict="(no output)"
    elif [[ $line == "$args: "* ]]; then
      verdict=${line#"$args: "}
    else
      verdict="unparsed: $line"
    fi
    case $class in
      host | risk) side=host ;;
      peer | own) side=$class ;;
      *) e2e_die "probe '${probes[i]}': unknown class $class" ;;
    esac
    local arrived=no
    [[ -n ${BP_ARRIVED["$side|$run/$phase$i"]+x} ]] && arrived=yes
    bp_kind "$args"
    bp_judge "$variant" "$title" "$row" "$mode" "$class" "$BP_KIND" "$verdict" "$arrived"
  done
}

# bp_judge VARIANT TITLE ROW MODE CLASS KIND VERDICT ARRIVED — one PASS/FAIL/SKIP/RISK line
# and a table cell.
bp_judge() {
  local variant=$1 title=$2 row=$3 mode=$4 class=$5 kind=$6 verdict=$7 arrived=$8 cell ok=0 why
  local expect=reach
  # Only the admin's consent makes an AF_PACKET path an accepted risk; anywhere else it is
  # a path to the host like any other.
  [[ $class == risk && $variant != netraw ]] && class=host
  [[ $class == host && $mode == enforce ]] && expect=block
  [[ $class == risk && $mode == enforce ]] && expect=risk
  local where="the $class side"
  [[ $class == own ]] && where="the container's own listener"
  [[ $class == risk ]] && where="the host side"
  if [[ $verdict == unsupported* ]]; then
    BP_CELL["$variant|$row|$mode"]=skip
    BP_SKIPPED+=("$title: $row")
    printf 'SKIP: %s: %s: %s\n' "$title" "$row" "$verdict"
    return 0
  fi
  if [[ $expect == risk ]]; then
    # Neither a pass nor a fail: the documented price of allow-capabilities = CAP_NET_RAW.
    if [[ $verdict == reached && $arrived == yes ]]; then
      BP_CELL["$variant|$row|$mode"]=$BP_RISK_CELL
      BP_RISKS+=("$row")
      printf 'RISK: %s: %s → reached the host (AF_PACKET is below every cgroup program; accepted by allow-capabilities = CAP_NET_RAW)\n' \
        "$title" "$row"
    else
      BP_CELL["$variant|$row|$mode"]="NO-RISK?"
      e2e_fail "$title: $row → expected the accepted AF_PACKET risk to show (reached, arrived), got '$verdict', arrived: $arrived: the probe or docs/policy.md is wrong"
    fi
    return 0
  fi
  if [[ $expect == block ]]; then
    if [[ $arrived == yes ]]; then
      cell=BYPASS
      why="the probe says '$verdict' and it arrived at $where"
      BP_BYPASSES+=("$title: $row ($verdict, arrived)")
    elif [[ $verdict == "blocked EPERM" ]]; then
      cell=blocked ok=1 why="blocked EPERM, nothing arrived"
    elif [[ $kind == pkt && ($verdict == blocked* || $verdict == timeout) ]]; then
      cell=${verdict%% *} ok=1 why="$verdict, nothing arrived"
    elif [[ $verdict == reached ]]; then
      cell=NOT-BLOCKED why="sent without error (no EPERM) though nothing arrived"
    else
      cell=ERROR why="expected blocked EPERM, got '$verdict'"
    fi
  else
    if [[ $verdict == reached && $arrived == yes ]]; then
      cell=reached ok=1 why="reached, arrived at $where"
    elif [[ $mode == none ]]; then
      cell=BROKEN why="without the hook it must reach: got '$verdict', arrived: $arrived"
      BP_BROKEN+=("$title: $row ($verdict)")
    elif [[ $verdict == reached ]]; then
      cell=NO-ARRIVAL why="reached, but nothing arrived at $where"
    else
      cell=FALSE-BLOCK why="must reach, got '$verdict'"
      BP_FALSE_BLOCKS+=("$title: $row ($verdict)")
    fi
  fi
  BP_CELL["$variant|$row|$mode"]=$cell
  if ((ok)); then e2e_pass "$title: $row → $why"; else e2e_fail "$title: $row → $cell: $why"; fi
}

# Counters of `status --json`, read before the probes and before the container exits: the
# denials (enforce) or would-be denials (audit) of every program in PROGRAMS must have risen,
# the other kind of none.
bp_check_counters() {  # VARIANT TOPOLOGY MODE BEFORE-JSON AFTER-JSON
  local variant=$1 topo=$2 mode=$3 before=$4 after=$5 title prog rising=denied still=audited b a
  title="$(bp_title "$variant" "$mode"): $topo"
  if [[ $mode == none ]]; then
    [[ $before == null && $after == null ]] &&
      e2e_pass "$title: status does not list the container" && return 0
    e2e_fail "$title: status lists a container without the annotation"
    return 0
  fi
  if [[ $before == null || $after == null ]]; then
    e2e_fail "$title: 'status --json' does not list the running container"
    return 0
  fi
  local got_mode
  got_mode=$(jq -r '.mode' <<<"$after")
  if [[ $got_mode == "$mode" ]]; then
    e2e_pass "$title: status reports mode $mode"
  else
    e2e_fail "$title: status reports mode '$got_mode', expected $mode"
  fi
  [[ $mode == audit ]] && rising=audited still=denied
  for prog in "${BP_PROGRAMS[@]}"; do
    b=$(jq --arg p "$prog" --arg k "$rising" '.[$k][$p] // -1' <<<"$before")
    a=$(jq --arg p "$prog" --arg k "$rising" '.[$k][$p] // -1' <<<"$after")
    if ((b >= 0 && a > b)); then
      e2e_pass "$title: $rising.$prog rose from $b to $a while the container ran"
    else
      e2e_fail "$title: $rising.$prog did not rise while the container ran ($b → $a)"
    fi
    b=$(jq --arg p "$prog" --arg k "$still" '.[$k][$p] // -1' <<<"$before")
    a=$(jq --arg p "$prog" --arg k "$still" '.[$k][$p] // -1' <<<"$after")
    if ((b >= 0 && a == b)); then
      e2e_pass "$title: $still.$prog stayed at $a"
    else
      e2e_fail "$title: $still.$prog changed in $mode mode ($b → $a)"
    fi
  done
}

# Holding CAP_NET_RAW with the admin's consent must change nothing for the probes both
# variants run: same outcome, mode by mode.
bp_compare_variants() {  # VARIANT-A VARIANT-B
  local a=$1 b=$2 entry row mode ca cb same=0 differ=0
  for entry in "${BP_ROWS[@]}"; do
    [[ ${entry%%|*} == "$b" ]] || continue
    row=${entry#*|}
    for mode in enforce none audit; do
      [[ -n ${BP_CELL["$a|$row|$mode"]+x} ]] || continue
      ca=${BP_CELL["$a|$row|$mode"]}
      cb=${BP_CELL["$b|$row|$mode"]:-not run}
      if [[ $ca == "$cb" ]]; then
        same=$((same + 1))
      else
        differ=$((differ + 1))
        e2e_fail "$(bp_variant_title "$b") vs $(bp_variant_title "$a"), $(bp_mode_title \
          "$mode"): $row: '$cb' instead of '$ca'"
      fi
    done
  done
  if ((differ == 0 && same > 0)); then
    e2e_pass "$(bp_variant_title "$b"): all $same outcomes of the probes shared with the $(
      bp_variant_title "$a") run are the same"
  elif ((same == 0 && differ == 0)); then
    e2e_fail "$(bp_variant_title "$b"): no probe shared with the $(bp_variant_title "$a") run"
  fi
}

# ---------------------------------------------------------------------------------------
# Report

bp_print_table() {  # VARIANT
  local variant=$1 entry row mode width=5 cells rows=() w1=11 w2=13 w3=11 cell
  for entry in "${BP_ROWS[@]}"; do
    [[ ${entry%%|*} == "$variant" ]] || continue
    row=${entry#*|}
    rows+=("$row")
    ((${#row} > width)) && width=${#row}
    cell=${BP_CELL["$variant|$row|enforce"]:-}
    ((${#cell} > w1)) && w1=${#cell}
  done
  printf '\n%s\n' "$(bp_variant_title "$variant"):"
  printf '%-*s | %-*s | %-*s | %-*s\n' "$width" probe "$w1" enforce "$w2" "no annotation" \
    "$w3" audit
  printf '%s\n' "$(printf '%*s' $((width + w1 + w2 + w3 + 9)) '' | tr ' ' -)"
  for row in "${rows[@]}"; do
    cells=()
    for mode in enforce none audit; do cells+=("${BP_CELL["$variant|$row|$mode"]:-not run}"); done
    printf '%-*s | %-*s | %-*s | %-*s\n' "$width" "$row" "$w1" "${cells[0]}" "$w2" "${cells[1]}" \
      "$w3" "${cells[2]}"
  done
}

bp_print_summary() {
  local row
  echo
  printf 'bypasses (enforce mode, arrived at the host): %d\n' "${#BP_BYPASSES[@]}"
  for row in "${BP_BYPASSES[@]}"; do printf '  BYPASS: %s\n' "$row"; done
  printf 'false blocks (must reach, did not): %d\n' "${#BP_FALSE_BLOCKS[@]}"
  for row in "${BP_FALSE_BLOCKS[@]}"; do printf '  FALSE-BLOCK: %s\n' "$row"; done
  printf 'broken probes (no reach without the hook): %d\n' "${#BP_BROKEN[@]}"
  for row in "${BP_BROKEN[@]}"; do printf '  BROKEN: %s\n' "$row"; done
  printf 'skipped probes (the kernel lacks the protocol): %d\n' "${#BP_SKIPPED[@]}"
  printf 'accepted risks: %d (AF_PACKET with CAP_NET_RAW allowed by the admin config)\n' \
    "${#BP_RISKS[@]}"
  for row in "${BP_RISKS[@]}"; do printf '  RISK: %s\n' "$row"; done
}
