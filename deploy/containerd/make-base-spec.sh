#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# make-base-spec.sh [-d HOOKS_DIR] [-o OUTPUT]
#
# Writes the base_runtime_spec through which containerd's CRI plugin runs oci-jail-hook
# (docs/containerd.md): containerd's own default OCI spec (`ctr oci spec`) plus the hook's
# createRuntime and poststop hooks, taken from the installed hooks.d files so that path, args
# and timeout are the ones podman and CRI-O use. Run it as root on the node, after installing
# the hook and again after every containerd upgrade (the base spec replaces containerd's
# generated default, which a new release may change); containerd reads the file only when it
# starts, so restart containerd afterwards.
#
#   -d HOOKS_DIR  where the hooks.d files are. Default: each file from
#                 /etc/containers/oci/hooks.d if it is there (the DaemonSet installer's
#                 directory; it masks the same name elsewhere), else from
#                 /usr/share/containers/oci/hooks.d (the Debian package's).
#   -o OUTPUT     write OUTPUT (mode 0644, replaced atomically, so containerd never reads a
#                 half-written file) instead of printing the spec.
#
# Unlike hooks.d, a base spec has no "when": the hook runs for every app container of the
# runtime handler and exits 0 where jail.block-host is absent (or "false"). Needs ctr and jq.
set -eu

me=make-base-spec.sh
die() {
  echo "$me: $*" >&2
  exit 1
}
usage() {
  echo "usage: $me [-d HOOKS_DIR] [-o OUTPUT]" >&2
  exit 2
}

hooks_dir=
out=
while getopts d:o: opt; do
  case $opt in
    d) hooks_dir=$OPTARG ;;
    o) out=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
for tool in ctr jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

# hooks_json NAME — the hooks.d file NAME the hook is installed with.
hooks_json() {
  if [ -n "$hooks_dir" ]; then
    set -- "$hooks_dir/$1"
  else
    set -- "/etc/containers/oci/hooks.d/$1" "/usr/share/containers/oci/hooks.d/$1"
  fi
  for f in "$@"; do
    [ -r "$f" ] && { echo "$f"; return 0; }
  done
  die "no $* (is oci-jail-hook installed?)"
}

# check_json FILE STAGE — FILE is a hooks.d 1.0.0 file for STAGE whose hook.path is an
# executable file: a base spec naming a missing binary would fail every container.
check_json() {
  jq -e --arg stage "$2" '.version == "1.0.0" and any(.stages[]?; . == $stage) and
      (.hook.path | type) == "string" and (.hook.path | startswith("/"))' "$1" >/dev/null ||
    die "$1: not a hooks.d 1.0.0 file with an absolute hook.path for the $2 stage"
  path=$(jq -r .hook.path "$1")
  { [ -f "$path" ] && [ -x "$path" ]; } || die "$1: hook.path $path is not an executable file"
}

create=$(hooks_json oci-jail-hook-create-runtime.json)
poststop=$(hooks_json oci-jail-hook-poststop.json)
check_json "$create" createRuntime
check_json "$poststop" poststop

tmp=$(mktemp -d "${TMPDIR:-/tmp}/make-base-spec.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ctr oci spec >"$tmp/default.json" || die "ctr oci spec failed"
# Without a base spec, the CRI plugin removes the default spec's rlimits, AppArmor profile and
# seccomp profile from every container (WithoutDefaultSecuritySettings); with one, it keeps
# whatever the base spec says. `ctr oci spec` has RLIMIT_NOFILE 1024, which would cap every
# container's open files at 1024 instead of inheriting containerd's limit: removed here, so
# that the only difference to containerd's own default is the hooks.
jq --slurpfile c "$create" --slurpfile p "$poststop" '
  del(.process.rlimits, .process.apparmorProfile, .linux.seccomp) |
  .hooks.createRuntime = ((.hooks.createRuntime // []) + [$c[0].hook]) |
  .hooks.poststop = ((.hooks.poststop // []) + [$p[0].hook])' \
  "$tmp/default.json" >"$tmp/spec.json" || die "ctr oci spec did not print JSON"
jq -e -s 'length == 1 and (.[0] | (.ociVersion | type) == "string" and
    (.process | type) == "object" and (.linux | type) == "object")' "$tmp/spec.json" >/dev/null ||
  die "ctr oci spec did not print a Linux OCI spec"

if [ -z "$out" ]; then
  cat "$tmp/spec.json"
else
  new=$out.new.$$
  trap 'rm -rf "$tmp"; rm -f "$new"' EXIT
  cp "$tmp/spec.json" "$new"
  chmod 0644 "$new"
  mv -f "$new" "$out"
  echo "$me: wrote $out (hooks from $create, $poststop); restart containerd to use it" >&2
fi
