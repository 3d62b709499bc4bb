#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs oci-jail-hook onto a node whose root filesystem is mounted at DEST (default /host,
# where the DaemonSet in this directory and `kubectl debug node/...` mount it), or removes it
# again with --uninstall. Run it again at any time: files already in place are not touched.
#
# What it writes (host paths; DEST is prepended):
#   /usr/local/libexec/oci/hooks.d/oci-jail-hook                  the hook binary (0755)
#   /etc/containers/oci/hooks.d/oci-jail-hook-{create-runtime,poststop}.json
#                                                                 hooks.d files (0644)
#   /etc/crio/crio.conf.d/10-oci-jail-hook.conf                   CRI-O drop-in (0644), see
#                                                                 --crio-dropin
#   /var/lib/oci-jail-hook/installed                              what this script installed
#
# Safety:
# * every file is written to a temporary name in its target directory and renamed over the
#   target, so a runtime never reads a half-written file;
# * the binary goes in first and the hooks.d files last (uninstall: the other way round): a
#   hooks.d file whose binary is missing is rejected by CRI-O and by NRI's hook-injector, and
#   annotated containers would then run without the hook;
# * before the hooks.d files are written, the new binary is run once inside DEST (chroot) with
#   --version, so a binary that cannot run on this node (missing libbpf, libc too old) is
#   refused instead of failing every annotated container;
# * a file at a target path that differs from the one to be installed is replaced only if this
#   script installed it (its checksum is in the record) or with --force; otherwise nothing at
#   all is changed. --uninstall removes only files that still match the record, and keeps the
#   binary while a hooks.d file it had to keep may still point at it.
set -euo pipefail

umask 022
readonly PROG=install-on-node.sh
readonly RECORD=/var/lib/oci-jail-hook/installed

usage() {
  cat <<'EOF'
Usage: install-on-node.sh [options]

Install oci-jail-hook into the node root mounted at DEST, or remove it (--uninstall).

Options:
  --dest DIR           node root filesystem (default /host; "/" for the machine itself)
  --source DIR         directory holding oci-jail-hook, the *.json.in hooks.d templates and
                       10-oci-jail-hook.conf (default: this script's directory)
  --binary FILE        the hook binary (default SOURCE/oci-jail-hook)
  --templates DIR      hooks.d templates *.json.in (default SOURCE)
  --crio-conf FILE     the CRI-O drop-in (default SOURCE/10-oci-jail-hook.conf)
  --bin-dir DIR        host directory of the binary (default /usr/local/libexec/oci/hooks.d)
  --hooks-dir DIR      host hooks.d directory (default /etc/containers/oci/hooks.d)
  --crio-dropin MODE   yes | no | auto: install the CRI-O drop-in; auto = when DEST has CRI-O
                       (/etc/crio/crio.conf, /usr/bin/crio or /usr/local/bin/crio) (default auto)
  --no-verify          do not run the new binary inside DEST before installing it
  --force              replace (or, with --uninstall, remove) files this script did not install
  --uninstall          remove what this script installed, hooks.d files first
  -h, --help           this help

Exit status: 0 done (or nothing to do), 1 refused or failed (the node is left as it was,
except that --uninstall removes what it can), 2 usage error.
EOF
}

die() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit 1
}
usage_error() {
  printf '%s: %s (try --help)\n' "$PROG" "$*" >&2
  exit 2
}
note() { printf '%s: %s\n' "$PROG" "$*"; }

dest=/host
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
binary='' templates='' crio_conf=''
bin_dir=/usr/local/libexec/oci/hooks.d
hooks_dir=/etc/containers/oci/hooks.d
crio_dropin=auto
verify=1 force=0 uninstall=0

while (($#)); do
  case $1 in
    --dest | --source | --binary | --templates | --crio-conf | --bin-dir | --hooks-dir | --crio-dropin)
      (($# >= 2)) || usage_error "$1 needs a value"
      case $1 in
        --dest) dest=$2 ;;
        --source) source_dir=$2 ;;
        --binary) binary=$2 ;;
        --templates) templates=$2 ;;
        --crio-conf) crio_conf=$2 ;;
        --bin-dir) bin_dir=$2 ;;
        --hooks-dir) hooks_dir=$2 ;;
        --crio-dropin) crio_dropin=$2 ;;
      esac
      shift 2
      ;;
    --no-verify) verify=0 && shift ;;
    --force) force=1 && shift ;;
    --uninstall) uninstall=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage_error "unknown argument \"$1\"" ;;
  esac
done

binary=${binary:-$source_dir/oci-jail-hook}
templates=${templates:-$source_dir}
crio_conf=${crio_conf:-$source_dir/10-oci-jail-hook.conf}
case $crio_dropin in yes | no | auto) ;; *) usage_error "--crio-dropin: expected yes, no or auto" ;; esac
# Host paths end up inside JSON and sed expressions: plain absolute paths only.
for dir in "$bin_dir" "$hooks_dir"; do
  [[ $dir =~ ^(/[A-Za-z0-9._+-]+)+$ && $dir != */../* && $dir != */.. ]] ||
    usage_error "\"$dir\": expected an absolute path of [A-Za-z0-9._+-] components"
done
[[ -d $dest ]] || die "DEST $dest is not a directory (is the node's root mounted there?)"
dest=$(cd "$dest" && pwd -P)
[[ $dest == / ]] && dest=

# The items, in install order: host path, mode, source. The hooks.d files come last.
readonly hook_path=$bin_dir/oci-jail-hook
paths=("$hook_path") modes=(0755) sources=("$binary")
work=$(mktemp -d "${TMPDIR:-/tmp}/oci-jail-hook-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

want_crio_dropin() {
  case $crio_dropin in
    yes) return 0 ;;
    no) return 1 ;;
  esac
  [[ -e $dest/etc/crio/crio.conf || -e $dest/usr/bin/crio || -e $dest/usr/local/bin/crio ]]
}
if want_crio_dropin; then
  paths+=(/etc/crio/crio.conf.d/10-oci-jail-hook.conf) modes+=(0644) sources+=("$crio_conf")
fi
for stage in create-runtime poststop; do
  template=$templates/oci-jail-hook-$stage.json.in
  generated=$work/oci-jail-hook-$stage.json
  if ((!uninstall)); then
    [[ -f $template ]] || die "hooks.d template $template not found (--templates)"
    sed "s|@OJH_HOOK_PATH@|$hook_path|g" "$template" >"$generated"
    ! grep -q '@[A-Z_]*@' "$generated" || die "$template: unreplaced placeholder"
    grep -qF "\"$hook_path\"" "$generated" || die "$template: no @OJH_HOOK_PATH@ placeholder"
  fi
  paths+=("$hooks_dir/oci-jail-hook-$stage.json") modes+=(0644) sources+=("$generated")
done

checksum() { sha256sum <"$1" | cut -d' ' -f1; }

# The record: "<sha256>  <host path>" per installed file.
declare -A recorded=()
if [[ -f $dest$RECORD ]]; then
  while read -r sum path; do
    [[ -n $sum && -n $path ]] && recorded[$path]=$sum
  done <"$dest$RECORD"
fi

# Writes content (a file) to host path atomically: temp file in the same directory, rename.
put() {  # put SOURCE HOSTPATH MODE
  local target=$dest$2 tmp
  [[ -d $(dirname "$target") ]] || mkdir -p -- "$(dirname "$target")"
  tmp=$(dirname "$target")/.$(basename "$target").tmp.$$
  cp -- "$1" "$tmp"
  chmod "$3" "$tmp"
  mv -f -T -- "$tmp" "$target"
}

# Runs the binary that is about to be installed inside the node's root, where it will run.
verify_binary() {  # verify_binary HOSTPATH-OF-A-COPY
  local out
  if [[ -z $dest ]]; then
    out=$("$1" --version 2>&1) || die "the new binary does not run here: $out"
  else
    ((EUID == 0)) || die "checking the binary inside $dest needs root (chroot); --no-verify skips it"
    out=$(chroot "$dest" "$1" --version 2>&1) ||
      die "the new binary does not run on this node (missing libraries?): $out"
  fi
  [[ $out == "oci-jail-hook "* ]] || die "the new binary printed \"$out\" for --version"
}

# Rewrites the record from `recorded` (sorted, so an unchanged record is not rewritten).
write_record() {
  local path lines=
  for path in $(printf '%s\n' "${!recorded[@]}" | sort); do
    lines+="${recorded[$path]}  $path"$'\n'
  done
  if [[ -z $lines ]]; then
    rm -f -- "$dest$RECORD"
    rmdir -- "$(dirname "$dest$RECORD")" 2>/dev/null || true
  elif [[ ! -f $dest$RECORD || $(cat "$dest$RECORD")$'\n' != "$lines" ]]; then
    printf '%s' "$lines" >"$work/record"
    put "$work/record" "$RECORD" 0644
  fi
}

if ((uninstall)); then
  # What is recorded (also what an earlier run installed with other options) plus what this
  # run would install; hooks.d files first, the binary last.
  declare -A seen=()
  ordered=()
  for pass in json other binary; do
    for path in "${paths[@]}" "${!recorded[@]}"; do
      [[ -n ${seen[$path]:-} ]] && continue
      case $pass:$path in
        json:*.json | binary:*/oci-jail-hook) ;;
        other:*.json | other:*/oci-jail-hook) continue ;;
        other:*) ;;
        *) continue ;;
      esac
      seen[$path]=1
      ordered+=("$path")
    done
  done
  kept=0 kept_json=0
  for path in "${ordered[@]}"; do
    target=$dest$path
    if [[ ! -e $target && ! -L $target ]]; then
      unset "recorded[$path]"
      continue
    fi
    # A hooks.d file left behind may still name the binary; without it the runtime would
    # silently stop running the hook, so the binary stays too.
    if [[ $path == */oci-jail-hook ]] && ((kept_json)) && ((!force)); then
      note "kept $path: a hooks.d file above was kept and may still point at it"
      kept=1
      continue
    fi
    if ((force)) || [[ -f $target && ! -L $target && $(checksum "$target") == "${recorded[$path]:-}" ]]; then
      rm -f -- "$target"
      unset "recorded[$path]"
      note "removed $path"
    else
      note "kept $path: not installed by this script or changed since (--force removes it)"
      kept=1
      [[ $path == *.json ]] && kept_json=1
    fi
  done
  write_record
  ((kept == 0)) || exit 1
  exit 0
fi

# Plan: decide every item before changing anything, so a refusal leaves the node untouched.
actions=()
for i in "${!paths[@]}"; do
  path=${paths[i]} target=$dest${paths[i]}
  [[ -f ${sources[i]} ]] || die "${sources[i]} not found"
  new=$(checksum "${sources[i]}")
  if [[ -L $target || (-e $target && ! -f $target) ]]; then
    ((force)) || die "refusing to replace $path: not a regular file (--force replaces it)"
    actions+=(write)
  elif [[ ! -e $target ]]; then
    actions+=(write)
  elif [[ $(checksum "$target") == "$new" ]]; then
    if [[ $(stat -c %a "$target") == "${modes[i]#0}" ]]; then actions+=(keep); else actions+=(chmod); fi
  elif [[ $(checksum "$target") == "${recorded[$path]:-}" ]] || ((force)); then
    actions+=(write)
  else
    die "refusing to replace $path: it differs from what this script installed there" \
      "(another installation?); --force replaces it. Nothing was changed."
  fi
done

changed=()
for i in "${!paths[@]}"; do
  path=${paths[i]}
  case ${actions[i]} in
    keep) ;;
    chmod)
      chmod "${modes[i]}" "$dest$path"
      changed+=("$path")
      ;;
    write)
      if [[ $path == "$hook_path" ]] && ((verify)); then
        candidate=$(dirname "$path")/.oci-jail-hook.verify.$$
        [[ -d $dest$(dirname "$path") ]] || mkdir -p -- "$dest$(dirname "$path")"
        cp -- "${sources[i]}" "$dest$candidate"
        chmod 0755 "$dest$candidate"
        if ! (verify_binary "$candidate"); then
          rm -f -- "$dest$candidate"
          exit 1
        fi
        rm -f -- "$dest$candidate"
      fi
      put "${sources[i]}" "$path" "${modes[i]}"
      changed+=("$path")
      ;;
  esac
  recorded[$path]=$(checksum "${sources[i]}")
done
write_record

if ((${#changed[@]} == 0)); then
  note "already installed in ${dest:-/}; nothing changed"
else
  for path in "${changed[@]}"; do note "installed $path"; done
  if [[ " ${changed[*]} " == *" /etc/crio/crio.conf.d/10-oci-jail-hook.conf "* ]]; then
    note "restart CRI-O on this node (systemctl restart crio) for the new hooks_dir to apply"
  fi
fi
