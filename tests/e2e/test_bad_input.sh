#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# shellcheck disable=SC2317  # the gen_* and run_* functions are called through the table
#
# Hostile and broken input, one case per line of the table below: the installed hook is fed
# a state JSON on stdin (for a sleeping process in a test cgroup of the isolated view),
# annotations, a bundle's config.json, an admin config (--config) or an environment it
# cannot work in, and must refuse with the documented message. For every case:
#   - exit status 1 (usage errors: 2), never a signal (no crash, no abort);
#   - exactly one stderr line, "oci-jail-hook: " + the expected message;
#   - nothing attached anywhere in the view's cgroup tree (bpftool cgroup tree);
#   - nothing pinned for a container and no staging leftovers under any pin directory.
# A second, shorter table checks that the limits are exact: the largest accepted input is
# enforced (and released again). docs/input-limits.md documents every limit.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

e2e_require_commands jq bpftool unshare
e2e_hook_view "$@"
PIN_ROOT=/sys/fs/bpf

# ---------------------------------------------------------------------------------------
# The processes the states name.
h_sleeper ctr
PID=$H_PID # the "container": alone in a test cgroup
# in the launcher cgroup, where the script and the hook run
HOOKCG_PID=$(sh -c 'sleep 3600 >/dev/null 2>&1 </dev/null & echo $!')
e2e_defer "kill $HOOKCG_PID 2>/dev/null || true"
# in the root cgroup of the view
ROOT_PID=$(sh -c 'sleep 3600 >/dev/null 2>&1 </dev/null & echo $!')
e2e_defer "kill $ROOT_PID 2>/dev/null || true"
echo "$ROOT_PID" >"$H_CG2/cgroup.procs" || e2e_die "cannot move $ROOT_PID to the view's root"
h_sleeper outer # a cgroup that will hold the hook's own cgroup (outer/hook)
ANC_PID=$H_PID
mkdir "$H_CG2/outer/hook"
true &
DEAD_PID=$!
wait "$DEAD_PID" || true

# Bundles: a valid one and one per config.json defect.
h_bundle "$W/bundle"
mkdir -p "$W/b-missing" "$W/b-mode000" "$W/b-notjson" "$W/b-empty" "$W/b-deep" "$W/b-huge" \
  "$W/b-dupkey" "$W/b-ns" "$W/b-dir" "$W/b-nonutf8"
printf '{"ociVersion":"1.0.2"}' >"$W/b-mode000/config.json"
chmod 000 "$W/b-mode000/config.json"
printf 'ociVersion: 1.0.2\n' >"$W/b-notjson/config.json"
: >"$W/b-empty/config.json"
{
  printf '{"a":'
  printf '[%.0s' {1..64}
  printf ']%.0s' {1..64}
  printf '}'
} >"$W/b-deep/config.json"
{
  printf '{"ociVersion":"1.0.2","annotations":{"pad":"'
  head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' a
  printf '"}}'
} >"$W/b-huge/config.json"
printf '{"linux":{},"linux":{}}' >"$W/b-dupkey/config.json"
printf '{"linux":{"namespaces":{"type":"network"}}}' >"$W/b-ns/config.json"
mkdir "$W/b-dir/config.json"
# A FIFO would hang the hook (and the container start) in open(); a symlink points the hook,
# as root, at a file the bundle's writer chose.
mkdir -p "$W/b-fifo" "$W/b-symlink"
mkfifo "$W/b-fifo/config.json"
ln -s ../bundle/config.json "$W/b-symlink/config.json"
for b in mountdup procdup capsetdup capstype capsnum sysadmin rawptrace netadmin capspell mountnul \
  cgbind cgproc cgrbindro; do mkdir -p "$W/b-$b"; done
printf '{"mounts":[{"destination":"/etc/resolv.conf","source":"/a","source":"/b"}]}' \
  >"$W/b-mountdup/config.json"
printf '{"process":{"capabilities":{},"capabilities":{"bounding":["CAP_SYS_ADMIN"]}}}' \
  >"$W/b-procdup/config.json"
printf '{"process":{"capabilities":{"bounding":[],"bounding":["CAP_SYS_ADMIN"]}}}' \
  >"$W/b-capsetdup/config.json"
printf '{"process":{"capabilities":{"bounding":"CAP_NET_RAW"}}}' >"$W/b-capstype/config.json"
printf '{"process":{"capabilities":{"bounding":[21]}}}' >"$W/b-capsnum/config.json"
printf '{"process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN"]}}}' \
  >"$W/b-sysadmin/config.json"
printf '{"process":{"capabilities":{"effective":["CAP_SYS_PTRACE"],"bounding":["CAP_NET_RAW"]}}}' \
  >"$W/b-rawptrace/config.json"
# A NAT rule in its own netns would rewrite an allowed destination into a host address.
printf '{"process":{"capabilities":{"effective":["cap_net_admin"]}}}' >"$W/b-netadmin/config.json"
printf '{"root":{"path":"\xc3\x28"}}' >"$W/b-nonutf8/config.json"
# crun reads "13junk" as CAP_NET_RAW (libcap stops at the first byte that cannot continue).
printf '{"process":{"capabilities":{"bounding":["13junk"]}}}' >"$W/b-capspell/config.json"
printf '{"mounts":[{"destination":"/h","type":"bind","source":"/sys/fs/cgroup\\u0000x"}]}' \
  >"$W/b-mountnul/config.json"
printf '{"mounts":[{"destination":"/h","type":"bind","source":"//sys/./fs/cgroup/","options":["rbind"]}]}' \
  >"$W/b-cgbind/config.json"
# /proc/1/root is the host's root: a magic link that no reading of the path follows.
printf '{"mounts":[{"destination":"/h","type":"bind","source":"/proc/1/root/sys/fs/cgroup","options":["rbind","rw"]}]}' \
  >"$W/b-cgproc/config.json"
# "ro" on an rbind of /sys remounts only /sys read-only; /sys/fs/cgroup below stays writable.
printf '{"mounts":[{"destination":"/h","type":"bind","source":"/sys","options":["rbind","ro"]}]}' \
  >"$W/b-cgrbindro/config.json"

# Pin directories that cannot work.
: >"$W/afile"
mkdir "$W/busy"
: >"$W/busy/kept"
mkdir -m 0777 "$PIN_ROOT/ojh-loose"
e2e_defer "rmdir $PIN_ROOT/ojh-loose"
ln -s /sys/fs/bpf/oci-jail-hook "$PIN_ROOT/ojh-symlink" 2>/dev/null ||
  e2e_log "bpffs refuses symlinks here; the symlink case will fail to set up"
e2e_defer "rm -f $PIN_ROOT/ojh-symlink"

# Long strings the table refers to by name.
A64=$(printf 'a%.0s' {1..64})
A128=$(printf 'a%.0s' {1..128})
A129=$(printf 'a%.0s' {1..129})
A300=$(printf 'a%.0s' {1..300})
K513=$(printf 'k%.0s' {1..513})
K512=$(printf 'k%.0s' {1..512})
K64=${K512:0:64}

# ---------------------------------------------------------------------------------------
# The cases. Columns, separated by "|" (spaces around fields are trimmed):
#   NAME      also the container id of the state, where the state has a valid id
#   CMD       create (create-runtime), poststop, or "-" when INPUT gives the whole argv
#   EXIT      expected exit status
#   INPUT     what is fed to the hook:
#     valid                 the valid state (ok as input; the case is in the environment)
#     raw TEXT              stdin is TEXT exactly
#     set JSON              the valid state with the members of JSON replacing its own
#     unset KEY             the valid state without member KEY
#     ann JSON              the valid state with "annotations": JSON
#     gen FUNCTION ARGS...  stdin is the output of gen_FUNCTION ARGS (see below)
#     bundle DIR            the valid state with "bundle": DIR
#     conf MODE TEXT        the valid state, and --config FILE with TEXT (\n: newline) in a
#                           root-owned FILE of MODE; "conf-owner UID MODE TEXT" for another owner
#     opt OPTIONS...        the valid state, and OPTIONS before the command
#     argv ARGS...          the whole command line, stdin empty
#     fn FUNCTION           special setups: run_FUNCTION runs the hook itself (see below)
#   MESSAGE   the expected stderr line after "oci-jail-hook: ", exactly; "~TEXT": a line
#             containing TEXT
# Placeholders: @ID@ (the NAME), @PID@ (the sleeper), @W@ (the work directory), @B@ (the
# valid bundle), @DEAD@, @HOOKCG@, @ROOTPID@, @ANC@ (pids described above), @A64@ @A128@
# @A129@ @A300@ @K512@ @K513@ (runs of "a"/"k"), @NUL@ @FF@ (a raw 0x00 / 0xff byte).
read -r -d '' CASES <<'EOF' || true
# --- the state JSON: syntax, encoding, size, depth
empty-stdin        |create  |1|raw                 |state JSON: invalid at offset 0: The document is empty.
truncated          |create  |1|raw {"ociVersion":"1.0.2","id":"trunc|state JSON: invalid at offset 33: Missing a closing quotation mark in string.
truncated-object   |create  |1|raw {"ociVersion":"1.0.2",|state JSON: invalid at offset 22: Missing a name for object member.
trailing-garbage   |create  |1|raw {"ociVersion":"1.0.2"} x|state JSON: invalid at offset 23: The document root must not be followed by other values.
not-json           |create  |1|raw ociVersion=1.0.2  |state JSON: invalid at offset 0: Invalid value.
non-utf8           |create  |1|raw {"ociVersion":"1.0.2","id":"a@FF@b"}|state JSON: invalid at offset 29: Invalid encoding in string.
raw-nul-byte       |create  |1|raw {"ociVersion":"1.0.2"@NUL@,"id":"x"}|state JSON: invalid at offset 21: NUL byte
deep-33            |create  |1|gen deep 32         |~state JSON: nested deeper than 32 levels at offset
deep-100000        |create  |1|gen deep 100000     |~state JSON: nested deeper than 32 levels at offset
huge-4mib-plus-1   |create  |1|gen huge 1          |state JSON larger than 4194304 bytes
huge-16mib         |create  |1|gen huge 16777216   |state JSON larger than 4194304 bytes
top-level-array    |create  |1|raw [{"ociVersion":"1.0.2"}]|state JSON: top level must be an object
top-level-string   |create  |1|raw "state"         |state JSON: top level must be an object
duplicate-key      |create  |1|raw {"ociVersion":"1.0.2","id":"a","id":"b","status":"creating","pid":1}|state JSON: duplicate key "id"
duplicate-pid-key  |create  |1|raw {"ociVersion":"1.0.2","id":"a","status":"creating","pid":@PID@,"pid":1}|state JSON: duplicate key "pid"
# --- the state JSON: members of the wrong type or value
missing-ociversion |create  |1|unset ociVersion    |state JSON: missing "ociVersion"
missing-id         |create  |1|unset id            |state JSON: missing "id"
missing-status     |create  |1|unset status        |state JSON: missing "status"
id-number          |create  |1|set {"id":42}       |state JSON: "id" must be a string
ociversion-null    |create  |1|set {"ociVersion":null}|state JSON: "ociVersion" must be a string
status-unknown     |create  |1|set {"status":"paused"}|state JSON: status "paused" is invalid (expected creating, created, running or stopped)
bundle-number      |create  |1|set {"bundle":7}    |state JSON: "bundle" must be a string
pid-string         |create  |1|set {"pid":"@PID@"} |state JSON: "pid" must be a non-negative integer
pid-negative       |create  |1|set {"pid":-1}      |state JSON: "pid" must be a non-negative integer
pid-fraction       |create  |1|set {"pid":1.5}     |state JSON: "pid" must be a non-negative integer
pid-exponent       |create  |1|raw {"ociVersion":"1.0.2","id":"x","status":"creating","pid":1e3}|state JSON: "pid" must be a non-negative integer
pid-2pow31         |create  |1|set {"pid":2147483648}|state JSON: "pid" is larger than 2147483647
pid-2pow64         |create  |1|raw {"ociVersion":"1.0.2","id":"x","status":"creating","pid":18446744073709551616}|state JSON: "pid" must be a non-negative integer
annotations-array  |create  |1|set {"annotations":["jail.block-host"]}|state JSON: "annotations" must be an object
annotation-bool    |create  |1|ann {"jail.block-host":true}|state JSON: annotation "jail.block-host" must be a string
# --- the container id (it names the pin directory)
id-slash           |create  |1|set {"id":"a/b"}    |state JSON: container id "a/b" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
id-dotdot          |create  |1|set {"id":".."}     |state JSON: container id ".." is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
id-dotdot-path     |poststop|1|set {"id":"a/../../v1"}|state JSON: container id "a/../../v1" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
id-nul             |create  |1|set {"id":"a\u0000b"}|state JSON: container id "a\x00b" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
id-newline         |create  |1|set {"id":"a\nb"}   |state JSON: container id "a\x0ab" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
id-empty           |create  |1|set {"id":""}       |state JSON: container id "" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
id-leading-dash    |create  |1|set {"id":"-rf"}    |state JSON: container id "-rf" is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
id-129-chars       |create  |1|set {"id":"@A129@"}|state JSON: container id "@A64@..." is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
id-300-chars       |poststop|1|set {"id":"@A300@"}|state JSON: container id "@A64@..." is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)
# --- the pid: missing, dead, or not a container's
pid-missing        |create  |1|unset pid           |container @ID@: state has no container pid
pid-zero           |create  |1|set {"pid":0}       |container @ID@: state has no container pid
pid-dead           |create  |1|set {"pid":@DEAD@}  |container @ID@: open a pidfd of process @DEAD@: No such process
pid-in-hook-cgroup |create  |1|set {"pid":@HOOKCG@}|container @ID@: container cgroup /launcher contains the hook's own cgroup /launcher; refusing to attach to a cgroup shared with the host
pid-in-ancestor    |create  |1|fn in_child_cgroup  |container @ID@: container cgroup /outer contains the hook's own cgroup /outer/hook; refusing to attach to a cgroup shared with the host
pid-in-root-cgroup |create  |1|set {"pid":@ROOTPID@}|container @ID@: container cgroup is the root cgroup; refusing to attach to the whole host
pid-outside-view   |create  |1|set {"pid":1}       |~container @ID@: container cgroup path "/..
# --- annotations: sizes, counts, duplicates, unknown keys
ann-duplicate      |create  |1|raw {"ociVersion":"1.0.2","id":"x","status":"creating","pid":@PID@,"annotations":{"jail.block-host":"false","jail.block-host":"true"}}|state JSON: duplicate annotation "jail.block-host"
ann-too-many       |create  |1|gen many_annotations 4097|state JSON: more than 4096 annotations
ann-key-too-long   |create  |1|ann {"@K513@":"v","jail.block-host":"true"}|state JSON: annotation key "@K64@..." is longer than 512 bytes
ann-value-too-long |create  |1|gen long_value jail.block-host.allow 4097|state JSON: annotation "jail.block-host.allow" is longer than 4096 bytes
ann-switch-yes     |create  |1|ann {"jail.block-host":"yes"}|container @ID@: annotation jail.block-host="yes" is invalid: expected "true" or "false"
ann-switch-caps    |create  |1|ann {"jail.block-host":"True"}|container @ID@: annotation jail.block-host="True" is invalid: expected "true" or "false"
ann-unknown-key    |create  |1|ann {"jail.block-host":"true","jail.block-host.ports":"80"}|container @ID@: unknown annotation "jail.block-host.ports" (known: jail.block-host, jail.block-host.allow, jail.block-host.cidrs, jail.block-host.mode, jail.block-host.dns, jail.block-host.unix)
ann-subkey-no-switch|create |1|ann {"jail.block-host":"false","jail.block-host.mode":"audit"}|container @ID@: annotation jail.block-host.mode is set but jail.block-host is not "true"
ann-mode-bad       |create  |1|ann {"jail.block-host":"true","jail.block-host.mode":"block"}|container @ID@: annotation jail.block-host.mode="block" is invalid: expected "enforce" or "audit"
ann-dns-bad        |create  |1|ann {"jail.block-host":"true","jail.block-host.dns":"1"}|container @ID@: annotation jail.block-host.dns="1" is invalid: expected "true" or "false"
# --- jail.block-host.cidrs
cidr-host-bits     |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"10.0.0.1/8"}|container @ID@: annotation jail.block-host.cidrs: entry "10.0.0.1/8": host bits are set; did you mean 10.0.0.0/8?
cidr-prefix-33     |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"10.0.0.0/33"}|container @ID@: annotation jail.block-host.cidrs: entry "10.0.0.0/33": IPv4 prefix length must be 0-32
cidr-v6-prefix-129 |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"fd00::/129"}|container @ID@: annotation jail.block-host.cidrs: entry "fd00::/129": IPv6 prefix length must be 0-128
cidr-octet-256     |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"10.0.0.256/32"}|container @ID@: annotation jail.block-host.cidrs: entry "10.0.0.256/32": invalid IPv4 address
cidr-word          |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"localhost"}|container @ID@: annotation jail.block-host.cidrs: entry "localhost": expected a.b.c.d/n, x::/n, an address or "private"
cidr-brackets      |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"[fd00::]/8"}|container @ID@: annotation jail.block-host.cidrs: entry "[fd00::]/8": IPv6 CIDRs are written without brackets, e.g. fd00::/8
cidr-leading-zero  |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"10.0.0.0/08"}|container @ID@: annotation jail.block-host.cidrs: entry "10.0.0.0/08": prefix length must not have leading zeros
cidr-empty-entry   |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"10.0.0.0/8,,"}|container @ID@: annotation jail.block-host.cidrs: entry 2 is empty: expected a.b.c.d/n, x::/n, an address or "private"
cidr-empty-value   |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":""}|container @ID@: annotation jail.block-host.cidrs: value is empty: expected a comma-separated list of a.b.c.d/n, x::/n, an address or "private"
cidr-duplicate     |create  |1|ann {"jail.block-host":"true","jail.block-host.cidrs":"10.0.0.0/8,private"}|container @ID@: annotation jail.block-host.cidrs: entry "private": 10.0.0.0/8 duplicates entry "10.0.0.0/8"
cidr-too-many      |create  |1|gen many_cidrs 257  |container @ID@: annotation jail.block-host.cidrs: more than 256 entries ("private" counts as 7)
# --- jail.block-host.allow
allow-port-0       |create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:10.0.0.1:0"}|container @ID@: annotation jail.block-host.allow: entry "tcp:10.0.0.1:0": port must be 1-65535
allow-port-65536   |create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:10.0.0.1:65536"}|container @ID@: annotation jail.block-host.allow: entry "tcp:10.0.0.1:65536": port must be 1-65535
allow-port-negative|create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"udp:10.0.0.1:-53"}|container @ID@: annotation jail.block-host.allow: entry "udp:10.0.0.1:-53": port must be 1-65535
allow-port-zero-pad|create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:10.0.0.1:080"}|container @ID@: annotation jail.block-host.allow: entry "tcp:10.0.0.1:080": port must not have leading zeros
allow-proto-sctp   |create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"sctp:10.0.0.1:80"}|container @ID@: annotation jail.block-host.allow: entry "sctp:10.0.0.1:80": protocol must be tcp or udp
allow-v6-no-bracket|create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:::1:80"}|container @ID@: annotation jail.block-host.allow: entry "tcp:::1:80": IPv6 addresses must be in brackets, e.g. tcp:[::1]:8080
allow-v6-zone      |create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:[fe80::1%eth0]:80"}|container @ID@: annotation jail.block-host.allow: entry "tcp:[fe80::1%eth0]:80": IPv6 zone ids (%...) are not supported
allow-whitespace   |create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:10.0.0.1:80, udp:10.0.0.1:53"}|container @ID@: annotation jail.block-host.allow: entry " udp:10.0.0.1:53": whitespace is not allowed
allow-hostname     |create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:metadata:80"}|container @ID@: annotation jail.block-host.allow: entry "tcp:metadata:80": address must be an IPv4 address, a bracketed IPv6 address or *
allow-duplicate    |create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:[::ffff:10.0.0.1]:80,tcp:10.0.0.1:80"}|container @ID@: annotation jail.block-host.allow: entry "tcp:10.0.0.1:80": tcp:10.0.0.1:80 duplicates entry "tcp:[::ffff:10.0.0.1]:80"
allow-too-many     |create  |1|gen many_exceptions 65|container @ID@: annotation jail.block-host.allow: more than 64 entries
allow-nul          |create  |1|ann {"jail.block-host":"true","jail.block-host.allow":"tcp:10.0.0.1:80\u0000"}|container @ID@: annotation jail.block-host.allow: entry "tcp:10.0.0.1:80\x00": port must be 1-65535
# --- the bundle's config.json (read for the DNS exception, on by default)
bundle-missing     |create  |1|unset bundle        |container @ID@: the state's bundle must be an absolute path
bundle-no-config   |create  |1|bundle @W@/b-missing|container @ID@: open @W@/b-missing/config.json: No such file or directory
bundle-no-dir      |create  |1|bundle @W@/no-such-bundle|container @ID@: open @W@/no-such-bundle/config.json: No such file or directory
bundle-unreadable  |create  |1|bundle @W@/b-mode000|container @ID@: open @W@/b-mode000/config.json: Permission denied
bundle-config-dir  |create  |1|bundle @W@/b-dir    |container @ID@: @W@/b-dir/config.json is not a regular file
bundle-config-fifo |create  |1|bundle @W@/b-fifo   |container @ID@: @W@/b-fifo/config.json is not a regular file
bundle-symlink     |create  |1|bundle @W@/b-symlink|container @ID@: @W@/b-symlink/config.json is not a regular file
bundle-relative    |create  |1|bundle b-missing    |container @ID@: the state's bundle must be an absolute path
bundle-not-json    |create  |1|bundle @W@/b-notjson|container @ID@: config.json: invalid at offset 0: Invalid value.
bundle-empty-json  |create  |1|bundle @W@/b-empty  |container @ID@: config.json: invalid at offset 0: The document is empty.
bundle-deep        |create  |1|bundle @W@/b-deep   |~container @ID@: config.json: nested deeper than 64 levels at offset
bundle-huge        |create  |1|bundle @W@/b-huge   |container @ID@: @W@/b-huge/config.json larger than 4194304 bytes
bundle-dup-key     |create  |1|bundle @W@/b-dupkey |container @ID@: config.json: duplicate key "linux"
bundle-ns-type     |create  |1|bundle @W@/b-ns     |container @ID@: config.json: "linux.namespaces" must be an array
bundle-non-utf8    |create  |1|bundle @W@/b-nonutf8|container @ID@: config.json: invalid at offset 17: Invalid encoding in string.
bundle-mount-dupkey|create  |1|bundle @W@/b-mountdup|container @ID@: config.json: duplicate key "mounts[].source"
bundle-process-dup |create  |1|bundle @W@/b-procdup|container @ID@: config.json: duplicate key "process.capabilities"
bundle-caps-dup-set|create  |1|bundle @W@/b-capsetdup|container @ID@: config.json: duplicate key "process.capabilities.bounding"
bundle-caps-type   |create  |1|bundle @W@/b-capstype|container @ID@: config.json: "process.capabilities.bounding" must be an array
bundle-caps-number |create  |1|bundle @W@/b-capsnum|container @ID@: config.json: capability names must be strings
bundle-cap-sysadmin|create  |1|bundle @W@/b-sysadmin|container @ID@: the container may hold CAP_SYS_ADMIN, which can get around cgroup BPF (see docs/policy.md); drop it (podman --cap-drop=SYS_ADMIN) or accept the risk in the admin config (allow-capabilities = CAP_SYS_ADMIN)
bundle-cap-netadmin|create  |1|bundle @W@/b-netadmin|container @ID@: the container may hold CAP_NET_ADMIN, which can get around cgroup BPF (see docs/policy.md); drop it (podman --cap-drop=NET_ADMIN) or accept the risk in the admin config (allow-capabilities = CAP_NET_ADMIN)
bundle-cap-spelling|create  |1|bundle @W@/b-capspell|~container @ID@: the container may hold CAP_NET_RAW, which can get around cgroup BPF (see docs/policy.md); CAP_NET_RAW's sockets cannot be refused instead:
bundle-mount-nul   |create  |1|bundle @W@/b-mountnul|container @ID@: config.json: mount "source" holds a NUL byte
bundle-cgroup-bind |create  |1|bundle @W@/b-cgbind|container @ID@: the container mounts a writable cgroup filesystem at "/h" (a bind mount of the host's cgroup tree), from where it could move out of the enforced cgroup; mount it read-only
bundle-cgroup-proc |create  |1|bundle @W@/b-cgproc|container @ID@: the container mounts a writable cgroup filesystem at "/h" (a bind mount of a path under /proc or outside the bundle, which may lead to the host's cgroup tree), from where it could move out of the enforced cgroup; mount it read-only
bundle-cgroup-rbind-ro|create|1|bundle @W@/b-cgrbindro|container @ID@: the container mounts a writable cgroup filesystem at "/h" (a bind mount of the host's cgroup tree), from where it could move out of the enforced cgroup; mount it read-only recursively ("rro": "ro" on an rbind leaves the mounts below it writable)
bundle-caps-two    |create  |1|bundle @W@/b-rawptrace|~, which can get around cgroup BPF (see docs/policy.md)
# --- the admin config (--config)
conf-bad-bool      |create  |1|conf 0644 fail-open = maybe|@W@/conf-@ID@: fail-open="maybe": expected "true" or "false"
conf-bad-level     |create  |1|conf 0644 log-level = loud|@W@/conf-@ID@: log-level="loud": expected error, warning, info or debug
conf-bad-cidr      |create  |1|conf 0644 block-cidrs = 10.0.0.1/8|@W@/conf-@ID@: block-cidrs: entry "10.0.0.1/8": host bits are set; did you mean 10.0.0.0/8?
conf-bad-allow     |create  |1|conf 0644 allow = tcp:10.0.0.1:65536|@W@/conf-@ID@: allow: entry "tcp:10.0.0.1:65536": port must be 1-65535
conf-relative-pins |create  |1|conf 0644 pin-dir = pins|@W@/conf-@ID@: pin-dir="pins": expected an absolute path
conf-dotdot-pins   |create  |1|conf 0644 pin-dir = /sys/fs/bpf/../x|@W@/conf-@ID@: pin-dir="/sys/fs/bpf/../x": expected an absolute path
conf-bad-capability|create  |1|conf 0644 allow-capabilities = CAP_KILL|@W@/conf-@ID@: allow-capabilities: "CAP_KILL": expected one of CAP_NET_RAW, CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_NET_ADMIN
conf-bad-ann-exc   |create  |1|conf 0644 annotation-exceptions = no|@W@/conf-@ID@: annotation-exceptions="no": expected "true" or "false"
conf-long-ifname   |create  |1|conf 0644 ignore-interfaces = lo,averyveryverylongname|@W@/conf-@ID@: ignore-interfaces: "averyveryverylongname": expected an interface name (at most 15 characters)
conf-no-exceptions |create  |1|fn exceptions_forbidden|container @ID@: annotation jail.block-host.allow is not permitted on this host (admin config: annotation-exceptions = false)
conf-unknown-key   |create  |1|conf 0644 fail_open = true|@W@/conf-@ID@: unrecognised option 'fail_open'
conf-no-equals     |create  |1|conf 0644 fail-open|~@W@/conf-@ID@: the options configuration file contains an invalid line 'fail-open'
conf-twice         |create  |1|conf 0644 fail-open = true\nfail-open = false|@W@/conf-@ID@: option 'fail-open' cannot be specified more than once
conf-group-write   |create  |1|conf 0664 fail-open = false|admin config @W@/conf-@ID@ must be owned by root and not writable by group or others (refusing it)
conf-world-write   |create  |1|conf 0646 fail-open = false|admin config @W@/conf-@ID@ must be owned by root and not writable by group or others (refusing it)
conf-not-root      |create  |1|conf-owner 65534 0644 fail-open = false|admin config @W@/conf-@ID@ must be owned by root and not writable by group or others (refusing it)
conf-huge          |create  |1|gen_conf huge 262145|@W@/conf-@ID@ larger than 262144 bytes
conf-missing       |create  |1|opt --config @W@/no-such.conf|open admin config @W@/no-such.conf: No such file or directory
conf-directory     |create  |1|opt --config @W@   |admin config @W@ is not a regular file
conf-symlink       |create  |1|fn config_symlink   |open admin config @W@/conf-link: Too many levels of symbolic links
# --- the pin directory and bpffs
pins-relative      |create  |2|opt --pin-dir relative/pins|--pin-dir must be an absolute path
pins-slash         |create  |1|opt --pin-dir /     |container @ID@: pin directory must be an absolute path below a bpffs mount: "/"
pins-parent-file   |create  |1|opt --pin-dir @W@/afile/pins|container @ID@: mount bpffs on @W@/afile: Not a directory
pins-parent-busy   |create  |1|opt --pin-dir @W@/busy/pins|container @ID@: refusing to mount bpffs on @W@/busy: it is not empty, and the mount would hide what it holds (mount bpffs there first, or choose a pin-dir below /sys/fs/bpf)
pins-parent-missing|create  |1|opt --pin-dir @W@/no-such-dir/pins|container @ID@: mount bpffs on @W@/no-such-dir: No such file or directory
pins-in-proc       |create  |1|opt --pin-dir /proc/ojh-no-such-dir/pins|container @ID@: mount bpffs on /proc/ojh-no-such-dir: No such file or directory
pins-loose-mode    |create  |1|opt --pin-dir /sys/fs/bpf/ojh-loose|container @ID@: /sys/fs/bpf/ojh-loose is not owned by root or is writable by others (refusing)
pins-symlink       |create  |1|opt --pin-dir /sys/fs/bpf/ojh-symlink|container @ID@: /sys/fs/bpf/ojh-symlink exists and is not a directory (refusing)
# --- the process environment
stdin-closed       |create  |1|fn stdin_closed     |read state JSON: Bad file descriptor
stdin-directory    |create  |1|fn stdin_directory  |read state JSON: Is a directory
user-namespace     |create  |1|fn user_namespace   |container @ID@: rootless: the attach service is not running (connect @W@/no-service.sock: No such file or directory): an admin enables it with `systemctl enable --now oci-jail-hook.socket` (or runs `oci-jail-hook serve`); see docs/rootless.md
poststop-truncated |poststop|1|raw {"ociVersion":"1.0.2","id":"x"|state JSON: invalid at offset 30: Missing a comma or '}' after an object member.
# --- the command line (usage errors: exit 2)
no-command         |-       |2|argv                |missing command (try --help)
unknown-command    |-       |2|argv frob           |unknown command "frob" (try --help)
unknown-option     |-       |2|argv --frob create-runtime|unrecognised option '--frob' (try --help)
pin-dir-no-value   |-       |2|argv --pin-dir      |the required argument for option '--pin-dir' is missing (try --help)
two-commands       |-       |2|argv create-runtime poststop|too many positional options have been specified on the command line (try --help)
EOF

# Inputs the table cannot hold literally.
gen_deep() {  # DEPTH: the valid state plus DEPTH nested arrays (DEPTH + 1 levels)
  printf '%s' "${VALID%'}'}"
  printf ',"nest":'
  head -c "$1" /dev/zero | tr '\0' '['
  head -c "$1" /dev/zero | tr '\0' ']'
  printf '}'
}
gen_huge() {  # EXTRA: a valid state padded to 4 MiB + EXTRA bytes
  local head tail size=$((4 * 1024 * 1024 + $1))
  head=$(h_state "$CASE" "$PID" "$W/bundle" '{"jail.block-host":"true","pad":""}')
  head=${head%'"}}'}
  tail='"}}'
  printf '%s' "$head"
  head -c $((size - ${#head} - ${#tail})) /dev/zero | tr '\0' a
  printf '%s' "$tail"
}
gen_many_annotations() {  # N
  h_state "$CASE" "$PID" "$W/bundle" \
    "$(jq -cn --argjson n "$1" '[range($n - 1) | {key: "k\(.)", value: "v"}] | from_entries
      | . + {"jail.block-host": "true"}')"
}
gen_long_value() {  # KEY LENGTH
  jq -c --arg k "$1" --argjson n "$2" '.annotations[$k] = ("1" * $n)' <<<"$VALID"
}
gen_many_cidrs() {  # N distinct /32s
  h_state "$CASE" "$PID" "$W/bundle" "$(jq -cn --argjson n "$1" \
    '{"jail.block-host": "true", "jail.block-host.cidrs":
      ([range($n)] | map("10.1.\(. / 256 | floor).\(. % 256)") | join(","))}')"
}
gen_exact_cidrs() {  # LENGTH: a jail.block-host.cidrs value of exactly LENGTH bytes
  local len=$1 value='' entry i=1 rest zeros='' group
  # Entries fd00::N:0/112 while a last entry of 22..43 bytes still fits after them.
  for (( ; ; i++)); do
    entry=$(printf 'fd00:0:0:0:0:0:%x:0/112' "$i")
    ((${#value} + ${#entry} + 2 + 22 <= len)) || break
    value+=${value:+,}$entry
  done
  # The last one: fd01:0:0:0:0:0:0:0/128 (22 bytes), each group widened up to 0000.
  rest=$((len - ${#value} - 1 - 22))
  for ((group = 0; group < 7; group++)); do
    local w=$((rest > 3 ? 3 : rest))
    rest=$((rest - w))
    zeros+=":$(printf '%0*d' $((w + 1)) 0)"
  done
  value+=",fd01$zeros/128"
  h_state "$CASE" "$PID" "$W/bundle" "$(jq -cn --arg v "$value" \
    '{"jail.block-host": "true", "jail.block-host.cidrs": $v}')"
}
gen_many_exceptions() {  # N distinct ports
  h_state "$CASE" "$PID" "$W/bundle" "$(jq -cn --argjson n "$1" \
    '{"jail.block-host": "true", "jail.block-host.allow":
      ([range($n)] | map("tcp:10.0.0.1:\(. + 1)") | join(","))}')"
}

# Special setups: each runs the hook (RC and the stderr file as for any case).
run_in_child_cgroup() {  # the hook in outer/hook, the "container" in outer
  sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$H_CG2/outer/hook" \
    "$HOOK" create-runtime <<<"$(h_state "$CASE" "$ANC_PID" "$W/bundle")" >"$OUT" 2>"$ERR"
}
run_config_symlink() {
  printf 'fail-open = false\n' >"$W/conf-real"
  ln -sf "$W/conf-real" "$W/conf-link"
  "$HOOK" --config "$W/conf-link" create-runtime <<<"$VALID" >"$OUT" 2>"$ERR"
}
run_exceptions_forbidden() {
  printf 'annotation-exceptions = false\n' >"$W/conf-$CASE"
  jq -c '.annotations["jail.block-host.allow"] = "tcp:10.0.0.1:80"' <<<"$VALID" >"$W/stdin"
  "$HOOK" --config "$W/conf-$CASE" create-runtime <"$W/stdin" >"$OUT" 2>"$ERR"
}
run_stdin_closed() { "$HOOK" create-runtime <&- >"$OUT" 2>"$ERR"; }
run_stdin_directory() { "$HOOK" create-runtime </ >"$OUT" 2>"$ERR"; }
run_user_namespace() {
  unshare --user --map-root-user "$HOOK" --socket "$W/no-service.sock" create-runtime \
    <<<"$VALID" >"$OUT" 2>"$ERR"
}

# Replaces the placeholders in $1.
expand() {
  local s=$1
  s=${s//@ID@/$CASE}
  s=${s//@PID@/$PID}
  s=${s//@W@/$W}
  s=${s//@B@/$W/bundle}
  s=${s//@DEAD@/$DEAD_PID}
  s=${s//@HOOKCG@/$HOOKCG_PID}
  s=${s//@ROOTPID@/$ROOT_PID}
  s=${s//@ANC@/$ANC_PID}
  s=${s//@A64@/$A64}
  s=${s//@A128@/$A128}
  s=${s//@A129@/$A129}
  s=${s//@A300@/$A300}
  s=${s//@K64@/$K64}
  s=${s//@K512@/$K512}
  s=${s//@K513@/$K513}
  printf '%s' "$s"
}

trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  s=${s%"${s##*[![:space:]]}"}
  printf '%s' "$s"
}

# Pin directories that could have been written to: the default one and the one a case names.
pin_leftovers() {
  find "$PIN_ROOT" -mindepth 1 \( -path '*/containers/*' -o -path '*/ids/*' -o -name 'staging-*' \) \
    -print 2>/dev/null
  [[ -n ${CASE_PINS:-} && $CASE_PINS == /* && -d $CASE_PINS/v1 ]] &&
    find "$CASE_PINS/v1" -mindepth 1 \( -path '*/containers/*' -o -path '*/ids/*' \
      -o -name 'staging-*' \) -print
  return 0
}

# Runs one case; sets RC, leaves stderr in $ERR.
run_case() {
  local cmd=$1 input=$2 kind arg
  kind=${input%% *}
  arg=
  [[ $input == *" "* ]] && arg=$(expand "${input#* }")
  local -a args=() command=(create-runtime)
  [[ $cmd == poststop ]] && command=(poststop)
  local stdin=$W/stdin
  CASE_PINS=
  case $kind in
    valid) printf '%s' "$VALID" >"$stdin" ;;
    raw) printf '%s' "$arg" | sed 's/@NUL@/\x00/g; s/@FF@/\xff/g' >"$stdin" ;;
    set) jq -c --argjson patch "$arg" '. + $patch' <<<"$VALID" >"$stdin" ;;
    unset) jq -c --arg k "$arg" 'del(.[$k])' <<<"$VALID" >"$stdin" ;;
    ann) jq -c --argjson a "$arg" '.annotations = $a' <<<"$VALID" >"$stdin" ;;
    gen) read -ra words <<<"$arg" && "gen_${words[0]}" "${words[@]:1}" >"$stdin" ;;
    bundle) jq -c --arg b "$arg" '.bundle = $b' <<<"$VALID" >"$stdin" ;;
    conf | conf-owner | gen_conf)
      local conf=$W/conf-$CASE owner=0 mode
      if [[ $kind == conf-owner ]]; then
        owner=${arg%% *}
        arg=${arg#* }
      fi
      if [[ $kind == gen_conf ]]; then
        mode=0644
        # One comment line of exactly that many bytes.
        { head -c $((${arg#* } - 1)) /dev/zero | tr '\0' '#'; printf '\n'; } >"$conf"
      else
        mode=${arg%% *}
        printf '%b\n' "${arg#* }" >"$conf"
      fi
      chown "$owner" "$conf"
      chmod "$mode" "$conf"
      args=(--config "$conf")
      printf '%s' "$VALID" >"$stdin"
      ;;
    opt)
      read -ra args <<<"$arg"
      [[ ${args[0]} == --pin-dir ]] && CASE_PINS=${args[1]}
      printf '%s' "$VALID" >"$stdin"
      ;;
    argv)
      read -ra command <<<"$arg"
      : >"$stdin"
      ;;
    fn)
      RC=0
      "run_$arg" || RC=$?
      return 0
      ;;
    *) e2e_die "case $CASE: unknown input kind '$kind'" ;;
  esac
  RC=0
  "$HOOK" "${args[@]}" "${command[@]}" <"$stdin" >"$OUT" 2>"$ERR" || RC=$?
}

check_case() {  # CMD WANT-RC MESSAGE
  local want_rc=$2 message=$3 problems=() lines got attached leftovers
  ((RC < 128)) || problems+=("killed by signal $((RC - 128)) (crash)")
  [[ $RC == "$want_rc" ]] || problems+=("exit $RC, want $want_rc")
  lines=$(wc -l <"$ERR")
  got=$(head -c 2000 "$ERR")
  [[ $lines == 1 ]] || problems+=("$lines stderr lines, want 1")
  if [[ $message == "~"* ]]; then
    [[ $got == "oci-jail-hook: "*"${message#"~"}"* ]] ||
      problems+=("stderr does not contain '${message#"~"}'")
  else
    [[ $got == "oci-jail-hook: $message" ]] ||
      problems+=("stderr is not 'oci-jail-hook: $message'")
  fi
  attached=$(h_view_attachments)
  [[ -z $attached ]] || problems+=("ATTACHED: ${attached//$'\n'/, }")
  leftovers=$(pin_leftovers)
  [[ -z $leftovers ]] || problems+=("PINNED: ${leftovers//$'\n'/, }")
  if ((${#problems[@]} == 0)); then
    e2e_pass "$CASE: exit $RC, '${got:0:160}'"
  else
    local IFS=';'
    e2e_fail "$CASE: ${problems[*]} (stderr: '${got:0:300}')"
  fi
}

OUT=$W/stdout
ERR=$W/stderr
n=0
declare -A seen=()
while IFS= read -r line; do
  [[ -z $line || $line == "#"* ]] && continue
  IFS='|' read -r CASE cmd want_rc input message <<<"$line"
  CASE=$(trim "$CASE")
  cmd=$(trim "$cmd")
  want_rc=$(trim "$want_rc")
  input=$(trim "$input")
  message=$(expand "$(trim "$message")")
  [[ -z ${seen[$CASE]:-} ]] || e2e_die "case name $CASE used twice"
  seen[$CASE]=1
  VALID=$(h_state "$CASE" "$PID" "$W/bundle")
  run_case "$cmd" "$input"
  check_case "$cmd" "$want_rc" "$message"
  n=$((n + 1))
done <<<"$CASES"
e2e_log "$n bad-input cases"

# ---------------------------------------------------------------------------------------
# The limits are exact: the largest accepted input is enforced (five programs on the
# cgroup), and released again by poststop. Each case has a cgroup of its own, as a runtime
# gives each container.
#   NAME | INPUT (as above) | ...
read -r -d '' ACCEPTED <<'EOF' || true
id-128-chars       |set {"id":"@A128@"}
id-charset         |set {"id":"A-z_0.9+Z"}
id-dots            |set {"id":"a..b."}
state-4mib         |gen huge 0
deep-32            |gen deep 31
ann-4096           |gen many_annotations 4096
ann-key-512        |ann {"@K512@":"v","jail.block-host":"true"}
ann-value-4096     |gen exact_cidrs 4096
ann-other-value-1m |gen long_value io.example.big 1048576
cidrs-256          |gen many_cidrs 256
allow-64           |gen many_exceptions 64
allow-port-65535   |ann {"jail.block-host":"true","jail.block-host.allow":"tcp:10.0.0.1:65535,udp:[::1]:1"}
bundle-deep-63     |bundle @W@/b-deep63
EOF
mkdir -p "$W/b-deep63"
{
  printf '{"a":'
  printf '[%.0s' {1..62}
  printf ']%.0s' {1..62}
  printf '}'
} >"$W/b-deep63/config.json"

POSTSTOP=$(e2e_hook_path poststop)
while IFS= read -r line; do
  [[ -z $line || $line == "#"* ]] && continue
  IFS='|' read -r CASE input <<<"$line"
  CASE=$(trim "$CASE")
  input=$(trim "$input")
  h_sleeper "accept-$CASE"
  PID=$H_PID
  VALID=$(h_state "$CASE" "$PID" "$W/bundle")
  run_case create "$input"
  id=$(jq -r .id "$W/stdin" 2>/dev/null) || id='?'
  progs=$(h_cgroup_prog_count "$H_CG2/accept-$CASE")
  stderr=$(head -c 300 "$ERR")
  rc_post=0
  "$POSTSTOP" poststop <"$W/stdin" >/dev/null 2>"$W/poststop.err" || rc_post=$?
  after=$(h_wait_prog_count "$H_CG2/accept-$CASE" 0)
  leftovers=$(pin_leftovers)
  if [[ $RC == 0 && -z $stderr && $progs == $(e2e_hook_program_count) && $rc_post == 0 && $after == 0 && -z $leftovers ]]
  then
    e2e_pass "limit $CASE: accepted and enforced ($progs programs), released by poststop"
  else
    e2e_fail "limit $CASE: create exit $RC ('$stderr'), $progs programs on the cgroup," \
      "poststop exit $rc_post ($(head -c 200 "$W/poststop.err")), $after programs after," \
      "leftovers '${leftovers//$'\n'/ }' (id ${id:0:20}...)"
  fi
done <<<"$ACCEPTED"

e2e_finish
