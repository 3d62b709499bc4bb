#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# rootfs.sh [SUITE] — prints the path of a cached tarball of a Debian SUITE (default trixie)
# root file system with the packages of packages.SUITE, made by mmdebstrap from Debian's
# own mirror. The cache key is the package list and this script, so a rerun with the same
# list skips mmdebstrap; the guest's configuration and the project are added by image.sh,
# on a copy, so changing them never costs a new debootstrap.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

suite=${1:-trixie}
list=$VM_DIR/packages.$suite
[[ -f $list ]] || vm_die "no package list $list"
command -v mmdebstrap >/dev/null || vm_skip "mmdebstrap is not installed (apt-get install mmdebstrap)"

key=$(vm_hash "$list" "$VM_DIR/rootfs.sh")
out=$VM_CACHE/rootfs-$suite-$key.tar.zst
vm_lock "rootfs-$suite"
if [[ ! -s $out ]]; then
  start=$SECONDS
  vm_log "mmdebstrap $suite ($(vm_packages "$list" | wc -l) packages) -> $out"
  # mmdebstrap picks the format and compression from the name's ending.
  partial=$VM_CACHE/partial-rootfs-$suite-$key.tar.zst
  mapfile -t pkgs < <(vm_packages "$list")
  # unshare mode: as root it keeps real ownership but mounts /proc, /sys and /dev for the
  # maintainer scripts in a mount namespace of its own, never on the machine's own.
  # --aptopt: the guest has no network, so apt's sandbox user and recommends only cost.
  mmdebstrap --mode=unshare --variant=apt --components=main \
    --aptopt='APT::Install-Recommends "false"' \
    --include="$(IFS=,; echo "${pkgs[*]}")" \
    "$suite" "$partial"
  mv "$partial" "$out"
  # Older entries of this suite are superseded: each is ~0.5 GB.
  find "$VM_CACHE" -maxdepth 1 -name "rootfs-$suite-*.tar.zst" ! -path "$out" -delete
  vm_log "rootfs $suite built in $(vm_seconds_since "$start") s"
fi
echo "$out"
