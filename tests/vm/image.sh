#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# image.sh [SUITE] — prints the path of a bootable raw ext4 image of the SUITE guest
# (default trixie) with the project built and installed in it; the matching kernel and
# initrd are IMAGE.vmlinuz and IMAGE.initrd; IMAGE.matrix.gz is an initramfs of the same
# build for the kernel matrix (kernels.sh). Made from rootfs.sh's tarball, plus the
# guest's configuration (guest-root/ and configure_guest below), plus build.sh. Cached by
# all of that and the source tree, so a rerun with nothing changed only boots.
# OJH_VM_IMAGE=PATH uses an existing image as it is (to iterate on guest scenarios).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

suite=${1:-trixie}
if [[ -n ${OJH_VM_IMAGE:-} ]]; then
  [[ -f $OJH_VM_IMAGE && -f $OJH_VM_IMAGE.vmlinuz ]] || vm_die "OJH_VM_IMAGE=$OJH_VM_IMAGE: no such image"
  echo "$OJH_VM_IMAGE"
  exit 0
fi
command -v mke2fs >/dev/null || vm_skip "mke2fs is not installed (apt-get install e2fsprogs)"

tarball=$("$VM_DIR/rootfs.sh" "$suite")
tree=$(vm_source_tree)
mapfile -t config_files < <(find "$VM_DIR/guest-root" \( -type f -o -type l \) | LC_ALL=C sort)
# kernels.sh --initrd and the files it packs make IMAGE.matrix.gz (below).
mapfile -t matrix_files < <(find "$VM_DIR/kernels.sh" "$VM_DIR/initramfs" -type f | LC_ALL=C sort)
key=$({
  basename "$tarball"
  vm_build_key "$tree"
  echo "build-testing=${OJH_VM_BUILD_TESTING:-ON}"
  vm_hash "$VM_DIR/image.sh" "$VM_DIR/build.sh" "${config_files[@]}" "${matrix_files[@]}"
} | sha256sum | cut -c1-16)
image=$VM_CACHE/image-$suite-$key.img

# configure_guest ROOTFS — what a copied file cannot say: users, id ranges, lingering, the
# hostname.
configure_guest() {
  local root=$1
  echo ojh-vm >"$root/etc/hostname"
  # mmdebstrap copies the build machine's resolv.conf; the guest gets one of its own, a
  # nameserver on its dummy "uplink" (no network: nothing answers there).
  rm -f "$root/etc/resolv.conf"
  echo "nameserver 192.0.2.53" >"$root/etc/resolv.conf"
  # podman's --userns=auto takes its ranges from the "containers" entries.
  # useradd needs CAP_CHOWN to give the new /etc/shadow back to group shadow.
  vm_in_root "$root" --cap-add CAP_CHOWN -- /usr/sbin/useradd --system --no-create-home --shell /usr/sbin/nologin containers
  echo "containers:2147483647:2147483648" >"$root/etc/subuid"
  echo "containers:2147483647:2147483648" >"$root/etc/subgid"
  # Two ordinary users for rootless podman (guest/test_rootless_podman.sh): subordinate ids
  # of their own, a home for their container storage, and lingering, so that logind starts
  # user@UID.service at boot and with it the delegated cgroup tree podman's systemd cgroup
  # manager puts their containers in (what `loginctl enable-linger` writes).
  local user uid=1000 first=100000
  mkdir -p "$root/var/lib/systemd/linger"
  for user in alice bob; do
    # No automatic subordinate ranges (-K ...=0): the ones below are the only ones.
    vm_in_root "$root" --cap-add CAP_CHOWN -- /usr/sbin/useradd --uid "$uid" --user-group \
      --no-create-home --home-dir "/home/$user" --shell /bin/bash \
      -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$user"
    install -d -m 0700 -o "$uid" -g "$(awk -F: -v u="$user" '$1 == u { print $4 }' "$root/etc/passwd")" \
      "$root/home/$user"
    echo "$user:$first:65536" >>"$root/etc/subuid"
    echo "$user:$first:65536" >>"$root/etc/subgid"
    : >"$root/var/lib/systemd/linger/$user"
    uid=$((uid + 1))
    first=$((first + 65536))
  done
}

vm_lock "image-$suite"
if [[ ! -s $image ]]; then
  work=$(mktemp -d /var/tmp/ojh-vm-image.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  trap 'exit 143' TERM INT
  root=$work/root
  mkdir "$root"

  start=$SECONDS
  tar -C "$root" --zstd --xattrs --xattrs-include='*' -xpf "$tarball"
  cp -a "$VM_DIR/guest-root/." "$root/"
  configure_guest "$root"
  vm_log "root file system unpacked and configured in $(vm_seconds_since "$start") s"

  start=$SECONDS
  "$VM_DIR/build.sh" "$root" "$tree"
  vm_log "project built and installed in the guest's root file system in $(vm_seconds_since "$start") s"

  start=$SECONDS
  kernel=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | LC_ALL=C sort -V | tail -n 1)
  [[ -n $kernel ]] || vm_die "no kernel in $root/boot"
  initrd=$root/boot/initrd.img-${kernel##*/vmlinuz-}
  [[ -f $initrd ]] || vm_die "no initrd for $kernel"
  partial=$VM_CACHE/partial-image-$suite-$key
  cp "$kernel" "$partial.img.vmlinuz"
  cp "$initrd" "$partial.img.initrd"
  # The guest's build (its clang, its libbpf) on the other kernels of the matrix, too.
  "$VM_DIR/kernels.sh" --initrd "$root" "$partial.img.matrix.gz" >&2
  # 6 GB sparse: room for container storage; the host pays only for what is written.
  mke2fs -q -t ext4 -L ojh-vm -d "$root" "$partial.img" 6G >/dev/null
  for ext in vmlinuz initrd matrix.gz; do mv "$partial.img.$ext" "$image.$ext"; done
  mv "$partial.img" "$image"
  vm_log "image $image made in $(vm_seconds_since "$start") s"

  # Keep the newest two images of the suite: an image is ~2 GB on disk.
  find "$VM_CACHE" -maxdepth 1 -name "image-$suite-*.img" -printf '%T@ %p\n' | sort -rn |
    tail -n +3 | cut -d' ' -f2- | while read -r old; do rm -f "$old" "$old".{vmlinuz,initrd,matrix.gz}; done
fi
echo "$image"
