# SPDX-License-Identifier: Apache-2.0
# Host-side helpers of the VM tier, sourced by rootfs.sh, image.sh, boot.sh and run.sh.
# shellcheck shell=bash

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # read by the scripts that source this file
VM_SRC_ROOT=$(cd "$VM_DIR/../.." && pwd)
# Outside the source tree and /tmp: a root file system is ~1.5 GB and must survive reruns
# and fresh clones so that a rerun only boots.
VM_CACHE=${OJH_VM_CACHE:-/var/cache/oci-jail-hook-tests/vm}

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }
# The convention of every privileged tier: 77 is SKIPPED (CI turns a skip into a failure).
vm_skip() { printf 'vm: SKIPPED: %s\n' "$*" >&2; exit 77; }

# vm_hash FILE... — one short hash over the names and contents, so a renamed file counts
# too; a symlink counts by its target (guest-root's point into the guest, not the host).
vm_hash() {
  local f
  for f in "$@"; do
    printf '%s\0' "${f#"$VM_DIR"/}"
    if [[ -L $f ]]; then readlink "$f"; else cat "$f"; fi
  done | sha256sum | cut -c1-16
}

# vm_lock NAME — holds an exclusive lock for the rest of the calling shell, so that two runs
# (or the kernel matrix next to run.sh) never build the same cache entry at once.
vm_lock() {
  mkdir -p "$VM_CACHE"
  exec {VM_LOCK_FD}>"$VM_CACHE/$1.lock"
  flock "$VM_LOCK_FD"
}

# vm_packages FILE — the package names of a package list, comments and blank lines dropped.
vm_packages() {
  sed -e 's/#.*//' -e 's/[[:space:]]\+/\n/g' "$1" | sed '/^$/d'
}

# vm_seconds_since START — whole seconds since START ($SECONDS of the caller).
vm_seconds_since() { echo $((SECONDS - $1)); }

# vm_source_tree — the git tree id of the source to test: the working tree with its
# uncommitted changes (what ctest tests everywhere else), or HEAD with OJH_VM_SOURCE=HEAD.
# A throw-away index keeps the real one (and other people's staged work) untouched.
vm_source_tree() {
  git -C "$VM_SRC_ROOT" rev-parse --git-dir >/dev/null 2>&1 ||
    vm_die "$VM_SRC_ROOT is not a git checkout: the VM tier builds a git tree"
  if [[ ${OJH_VM_SOURCE:-worktree} == HEAD ]]; then
    git -C "$VM_SRC_ROOT" rev-parse 'HEAD^{tree}'
    return
  fi
  local index real
  index=$(mktemp /var/tmp/ojh-vm-index.XXXXXX)
  real=$(git -C "$VM_SRC_ROOT" rev-parse --path-format=absolute --git-path index)
  if [[ -f $real ]]; then cp "$real" "$index"; else rm -f "$index"; fi
  GIT_INDEX_FILE=$index git -C "$VM_SRC_ROOT" add -A
  GIT_INDEX_FILE=$index git -C "$VM_SRC_ROOT" write-tree
  rm -f "$index"
}

# vm_build_key TREE — what the image depends on in TREE: everything but tests/vm/, whose
# image-making files image.sh hashes itself and whose guest scripts travel in the 9p share,
# so editing a scenario does not rebuild the image.
vm_build_key() {
  git -C "$VM_SRC_ROOT" ls-tree -r "$1" | grep -v $'\ttests/vm/' | sha256sum | cut -c1-16
}

# vm_in_root ROOTFS [BWRAP-OPTION...] -- COMMAND... — runs COMMAND with ROOTFS as / and a
# /dev, /proc and /tmp of its own: the machine's own /dev, /proc, /sys and /etc are never
# bound in. No user namespace: ids stay the guest's (a shadow file owned by group shadow
# must stay so), and bwrap drops root's capabilities unless an option adds them.
vm_in_root() {
  local root=$1 opts=()
  shift
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  bwrap --bind "$root" / --dev /dev --proc /proc --tmpfs /tmp \
    --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup-try \
    --die-with-parent --clearenv \
    --setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --setenv HOME /root --setenv LANG C.UTF-8 \
    "${opts[@]}" "$@"
}
