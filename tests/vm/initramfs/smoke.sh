# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=dash
# Load-and-enforce on one kernel, with the hook exactly as a runtime runs it: a state on stdin,
# a process in the container's cgroup, and bpffs not mounted yet (the hook mounts it). Every
# probe's expected outcome is checked; a control proves each probe can succeed.
hook=/usr/libexec/oci-jail-hook
failed=0
n=0
check() {  # NAME EXPECTED-EXIT COMMAND...: jail-probe exits 0 reached, 1 blocked (EPERM)
  local name="$1" want="$2" got
  shift 2
  n=$((n + 1))
  out=$(timeout 20 "$@" 2>&1)
  got=$?
  if [ "$got" = "$want" ]; then echo "ok $n - $name"; else
    echo "not ok $n - $name: exit $got, want $want: $out"
    failed=1
  fi
}
# in_cgroup CGROUP COMMAND...: run COMMAND as a member of CGROUP (a file, so timeout runs it).
cat >/bin/in_cgroup <<'SCRIPT'
#!/bin/sh
echo $$ >"/sys/fs/cgroup/$1/cgroup.procs" || exit 99
shift
exec "$@"
SCRIPT
chmod +x /bin/in_cgroup

ip link set lo up
# Host addresses besides loopback: a documentation address and the metadata address.
ip addr add 192.0.2.1/32 dev lo
ip addr add 169.254.169.254/32 dev lo
ip -6 addr add 2001:db8::1/128 dev lo
for a in 127.0.0.1 192.0.2.1 169.254.169.254; do
  jail-probe listen tcp $a 8080 /tmp/listen.log >/dev/null &
done
jail-probe listen tcp ::1 8080 /tmp/listen.log >/dev/null &
jail-probe listen tcp 2001:db8::1 8080 /tmp/listen.log >/dev/null &
jail-probe listen udp 127.0.0.1 8081 /tmp/listen.log >/dev/null &
jail-probe unix-listen stream @ojh-vm-host /tmp/listen.log >/dev/null &
sleep 1

mkdir /sys/fs/cgroup/ctl /sys/fs/cgroup/c1
check "control reaches 127.0.0.1 over TCP" 0 in_cgroup ctl jail-probe connect tcp 127.0.0.1 8080

sleep 600 &
sleeper=$!
echo $sleeper >/sys/fs/cgroup/c1/cgroup.procs
mkdir -p /run/bundle
echo '{}' >/run/bundle/config.json
state='{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":'$sleeper',"bundle":"/run/bundle","annotations":{"jail.block-host":"true"}}'
n=$((n + 1))
if out=$(echo "$state" | $hook create-runtime 2>&1); then echo "ok $n - create-runtime"; else
  echo "not ok $n - create-runtime: $out"
  sed 's/^/# mountinfo: /' /proc/self/mountinfo
  echo "# verifier log:"
  echo "$state" | $hook --verbose create-runtime 2>&1 | tail -60 | sed 's/^/# /'
  exit 1
fi
$hook status 2>&1 | sed 's/^/# /'
# The egress variant the hook chose must be the one this kernel can run (6.15 added the
# helper it needs), and status must say which.
release=$(uname -r)
major=${release%%.*}
minor=${release#*.}
minor=${minor%%.*}
if [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 15 ]; }; then want=netns-aware; else want=compat; fi
n=$((n + 1))
if $hook status --json | grep -q "\"egress\":\"$want\""; then echo "ok $n - status --json says egress $want"; else
  echo "not ok $n - status --json does not say egress $want: $($hook status --json | head -c 200)"
  failed=1
fi

check "TCP to 127.0.0.1 (host netns)" 1 in_cgroup c1 jail-probe connect tcp 127.0.0.1 8080
check "UDP to 127.0.0.1 (host netns)" 1 in_cgroup c1 jail-probe sendto udp 127.0.0.1 8081
check "TCP to ::1 (host netns)" 1 in_cgroup c1 jail-probe connect tcp ::1 8080
check "TCP to ::ffff:127.0.0.1" 1 in_cgroup c1 jail-probe connect tcp ::ffff:127.0.0.1 8080
check "TCP to host address 192.0.2.1" 1 in_cgroup c1 jail-probe connect tcp 192.0.2.1 8080
check "TCP to host address 2001:db8::1" 1 in_cgroup c1 jail-probe connect tcp 2001:db8::1 8080
check "TCP to 169.254.169.254" 1 in_cgroup c1 jail-probe connect tcp 169.254.169.254 8080
# Where the BPF LSM takes the socket_create program, a raw socket is refused at socket()
# (jail-probe: exit 4, "error EPERM (socket)"); elsewhere the egress backstop refuses the
# packet (exit 1).
if $hook status --json | grep -q '"raw_sockets":"lsm"'; then
  n=$((n + 1))
  out=$(timeout 20 in_cgroup c1 jail-probe ping 192.0.2.1 2>&1)
  case $out in
    *"error EPERM (socket)"*) echo "ok $n - raw ICMP socket to 192.0.2.1 refused at socket() (BPF LSM)" ;;
    *) echo "not ok $n - raw ICMP socket: want EPERM at socket() (BPF LSM): $out"; failed=1 ;;
  esac
else
  check "raw ICMP to 192.0.2.1 (egress backstop)" 1 in_cgroup c1 jail-probe ping 192.0.2.1
fi
check "control still reaches 127.0.0.1" 0 in_cgroup ctl jail-probe connect tcp 127.0.0.1 8080
# A container with a network namespace of its own keeps its own loopback.
# shellcheck disable=SC2016  # expanded by the inner shell
check "own netns: its own 127.0.0.1" 0 in_cgroup c1 unshare -n sh -c \
  'ip link set lo up; jail-probe listen tcp 127.0.0.1 9090 /tmp/own.log >/dev/null 2>&1 &
   sleep 1; jail-probe connect tcp 127.0.0.1 9090; r=$?; kill $!; exit $r'

# AF_UNIX (issue 13): where the kernel has the cgroup AF_UNIX hooks (6.7+) a container in
# the host's netns is refused the host's abstract sockets; before that the rest still loads
# and enforces (above), status says AF_UNIX is not enforced, and deny-all is refused.
if [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 7 ]; }; then unix=true; else unix=false; fi
n=$((n + 1))
if $hook status --json | grep -q "\"unix\":{\"enforced\":$unix"; then echo "ok $n - status --json says unix.enforced $unix"; else
  echo "not ok $n - status --json does not say unix.enforced $unix: $($hook status --json | head -c 300)"
  failed=1
fi
check "control reaches the host's abstract socket" 0 in_cgroup ctl jail-probe unix-connect stream @ojh-vm-host
if [ $unix = true ]; then
  check "abstract AF_UNIX to the host (host netns)" 1 in_cgroup c1 jail-probe unix-connect stream @ojh-vm-host
else
  mkdir /sys/fs/cgroup/c3
  sleep 600 &
  sleeper3=$!
  echo $sleeper3 >/sys/fs/cgroup/c3/cgroup.procs
  state3='{"ociVersion":"1.0.2","id":"c3","status":"creating","pid":'$sleeper3',"bundle":"/run/bundle","annotations":{"jail.block-host":"true","jail.block-host.unix":"deny-all"}}'
  n=$((n + 1))
  if out=$(echo "$state3" | $hook create-runtime 2>&1); then
    echo "not ok $n - deny-all refused where AF_UNIX cannot be judged: it was enforced"
    failed=1
  elif echo "$out" | grep -q 'AF_UNIX destinations cannot be judged'; then
    echo "ok $n - deny-all refused where AF_UNIX cannot be judged"
  else
    echo "not ok $n - deny-all refused, but not for AF_UNIX: $out"
    failed=1
  fi
  kill $sleeper3
fi

# A container that may hold CAP_NET_ADMIN (the admin accepts it) has every packet judged at
# egress, TCP and UDP too, after its own NAT rules (issue 12): the verifier must take that
# path too, and its documented price shows. A host client gets no answer from its server,
# and on kernels before 6.15 (compat backstop) its own loopback is refused as well.
mkdir /sys/fs/cgroup/c2 /run/bundle2
sleep 600 &
sleeper2=$!
echo $sleeper2 >/sys/fs/cgroup/c2/cgroup.procs
echo '{"process":{"capabilities":{"bounding":["CAP_NET_ADMIN"],"effective":["CAP_NET_ADMIN"]}}}' \
  >/run/bundle2/config.json
echo 'allow-capabilities = CAP_NET_ADMIN' >/run/ojh.conf
chmod 0644 /run/ojh.conf
state2='{"ociVersion":"1.0.2","id":"c2","status":"creating","pid":'$sleeper2',"bundle":"/run/bundle2","annotations":{"jail.block-host":"true"}}'
n=$((n + 1))
if out=$(echo "$state2" | $hook --config /run/ojh.conf create-runtime 2>&1); then
  echo "ok $n - create-runtime, CAP_NET_ADMIN accepted"
else
  echo "not ok $n - create-runtime, CAP_NET_ADMIN accepted: $out"
  failed=1
fi
check "CAP_NET_ADMIN: UDP to 127.0.0.1 (host netns)" 1 in_cgroup c2 jail-probe sendto udp 127.0.0.1 8081
in_cgroup c2 jail-probe listen tcp 127.0.0.1 9091 /tmp/srv.log >/dev/null 2>&1 &
server=$!
sleep 1
check "CAP_NET_ADMIN: a host client gets no answer (timeout)" 3 jail-probe connect tcp 127.0.0.1 9091
kill $server
if [ $want = netns-aware ]; then own_tcp=0 own_udp=0; else own_tcp=3 own_udp=1; fi
# shellcheck disable=SC2016  # expanded by the inner shell
check "CAP_NET_ADMIN, own netns ($want): TCP to its own 127.0.0.1" $own_tcp in_cgroup c2 \
  unshare -n sh -c 'ip link set lo up; jail-probe listen tcp 127.0.0.1 9090 /tmp/own.log >/dev/null 2>&1 &
   sleep 1; jail-probe connect tcp 127.0.0.1 9090; r=$?; kill $!; exit $r'
check "CAP_NET_ADMIN, own netns ($want): UDP to its own 127.0.0.1" $own_udp in_cgroup c2 \
  unshare -n sh -c 'ip link set lo up; jail-probe sendto udp 127.0.0.1 9090'
n=$((n + 1))
if out=$(echo "$state2" | $hook --config /run/ojh.conf poststop 2>&1); then
  echo "ok $n - poststop, CAP_NET_ADMIN accepted"
else
  echo "not ok $n - poststop, CAP_NET_ADMIN accepted: $out"
  failed=1
fi
kill $sleeper2

n=$((n + 1))
if out=$(echo "$state" | $hook poststop 2>&1); then echo "ok $n - poststop"; else
  echo "not ok $n - poststop: $out"
  failed=1
fi
check "after poststop: 127.0.0.1 reached" 0 in_cgroup c1 jail-probe connect tcp 127.0.0.1 8080
n=$((n + 1))
if [ -z "$(ls /sys/fs/bpf/oci-jail-hook/v1/containers 2>/dev/null)" ]; then
  echo "ok $n - no per-container pins left"
else
  echo "not ok $n - per-container pins left: $(ls /sys/fs/bpf/oci-jail-hook/v1/containers)"
  failed=1
fi
exit $failed
