#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The kernel matrix of the VM tier: the hook, as built here, loads its programs and blocks on
# every kernel Debian ships. Each kernel (bookworm, trixie, sid: the current linux-image-amd64
# of each suite) boots under qemu TCG, with no network (-nic none) and no disk, into an
# initramfs holding the installed hook, the probe and tests/vm/initramfs/smoke.sh; the
# smoke test feeds the hook a container state, exactly as a runtime does, and probes.
#
#   tests/vm/kernels.sh [BUILD_DIR]
#       the hook of BUILD_DIR (default ./build, Debian 12's clang 14 here) and, when
#       OJH_KERNELS_GUEST_BUILD=1 (scripts/test.sh sets it), also the one the trixie guest
#       image holds (clang 19, libbpf 1.5): tests/vm/image.sh keeps an initramfs of it.
#   tests/vm/kernels.sh --initrd ROOT OUT
#       writes the initramfs of the hook installed in the root file system ROOT (at /usr,
#       probe at /usr/local/libexec/ojh-vm/jail-probe) to OUT, with ROOT's libraries.
# Exit 0: every kernel passed; 1: one failed; 77: the tier cannot run here (reason printed).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${OJH_VM_CACHE:-/var/cache/oci-jail-hook-tests}/kernels
read -r -a suites <<<"${OJH_KERNEL_SUITES:-bookworm trixie sid}"

skip() { echo "SKIPPED: kernel matrix: $*"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
command -v cpio >/dev/null || skip "cpio is not installed"

# make_initrd ROOT HOOK PROBE OUT — busybox, the hook with its shared libraries as ROOT has
# them (ldd run inside ROOT for a guest's build), the probe, and the smoke test.
make_initrd() {
  local root=$1 hook=$2 probe=$3 out=$4 dir lib
  dir=$(mktemp -d /var/tmp/ojh-initrd.XXXXXX)
  mkdir -p "$dir"/{bin,dev,proc,sys,tmp,run,usr/libexec}
  cp "$root/bin/busybox" "$dir/bin/busybox"
  cp "$root$hook" "$dir/usr/libexec/oci-jail-hook"
  cp "$root$probe" "$dir/bin/jail-probe"
  cp "$top/tests/vm/initramfs/init" "$top/tests/vm/initramfs/smoke.sh" "$dir/"
  chmod +x "$dir/init"
  if [[ $root == / ]]; then ldd "$hook"; else
    bwrap --ro-bind "$root" / --dev /dev --proc /proc --tmpfs /tmp ldd "$hook"
  fi | grep -o '/[^ ]*' | sort -u | while read -r lib; do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$root$lib" "$dir$lib"
  done
  (cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
  rm -rf "$dir"
}

if [[ ${1:-} == --initrd ]]; then
  command -v bwrap >/dev/null || skip "bubblewrap is not installed"
  make_initrd "$(realpath "$2")" /usr/libexec/oci/hooks.d/oci-jail-hook \
    /usr/local/libexec/ojh-vm/jail-probe "$3"
  exit 0
fi

# A private apt state: asks Debian's mirror which kernel each suite ships today, without
# touching the machine's own apt configuration.
apt_dir=$cache/apt
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o Dir::State::status=/dev/null -o APT::Architecture=amd64 -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
: >"$apt_dir/sources.list"
for s in "${suites[@]}"; do
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main" \
    >>"$apt_dir/sources.list"
done
if [[ -z $(find "$apt_dir/lists" -name '*Packages*' -mmin -720 2>/dev/null | head -1) ]]; then
  apt-get "${apt_opts[@]}" -qq update >/dev/null 2>&1 || true
fi

# The image package of a suite's linux-image-amd64, e.g. linux-image-6.12.117+deb13-amd64.
kernel_package() {
  local meta
  meta=$(apt-cache "${apt_opts[@]}" madison linux-image-amd64 |
    awk -v s="$1" '$0 ~ "debian " s "/main" {print $3; exit}')
  [[ -n $meta ]] || return 1
  apt-cache "${apt_opts[@]}" show "linux-image-amd64=$meta" |
    sed -n 's/^Depends:.*\(linux-image-[0-9][^ ]*-amd64\).*/\1/p' | head -1
}

# Only vmlinuz is needed: everything the test uses (cgroup2, bpffs, BPF, IPv6) is built in.
# Since 7.x Debian ships the image in linux-binary-<version>, beside linux-image-<version>.
kernel_image() {  # PACKAGE -> path of its vmlinuz in the cache
  local pkg=$1 dir=$cache/$1 candidate deb image
  if [[ ! -s $dir/vmlinuz ]]; then
    mkdir -p "$dir"
    for candidate in "$pkg" "linux-binary-${pkg#linux-image-}"; do
      (cd "$dir" && apt-get "${apt_opts[@]}" -qq download "$candidate" >/dev/null 2>&1) || continue
      deb=$(ls "$dir"/"$candidate"_*.deb)
      image=$(dpkg-deb -c "$deb" | grep -o '\./[^ ]*/vmlinuz[^ /]*$' | head -1) || true
      if [[ -n $image ]]; then
        dpkg-deb --fsys-tarfile "$deb" | tar -x -O "$image" >"$dir/vmlinuz"
      fi
      rm -f "$deb"
      [[ -s $dir/vmlinuz ]] && break
    done
    [[ -s $dir/vmlinuz ]] || return 1
  fi
  echo "$dir/vmlinuz"
}

work=$(mktemp -d /var/tmp/ojh-kernels.XXXXXX)
trap 'rm -rf "$work"' EXIT
build=$(realpath "${1:-$top/build}")
hook=$build/e2e-prefix/libexec/oci/hooks.d/oci-jail-hook
probe=$build/tests/probe/jail-probe
[[ -x $hook && -x $probe ]] || skip "no installed hook or probe in $build (run scripts/build.sh)"
make_initrd / "$hook" "$probe" "$work/host.gz"
builds=("host:$work/host.gz")
if [[ ${OJH_KERNELS_GUEST_BUILD:-0} == 1 ]]; then
  image=$("$top/tests/vm/image.sh" trixie)
  [[ -s $image.matrix.gz ]] || { echo "not ok - no initramfs of the trixie build beside $image"; exit 1; }
  builds+=("trixie:$image.matrix.gz")
fi

status=0
for entry in "${builds[@]}"; do
  label=${entry%%:*}
  initrd=${entry#*:}
  for suite in "${suites[@]}"; do
    pkg=$(kernel_package "$suite") || { echo "not ok - $suite: no linux-image-amd64 found"; status=1; continue; }
    vmlinuz=$(kernel_image "$pkg") || { echo "not ok - $suite: download of $pkg failed"; status=1; continue; }
    log=$work/$label-$suite.log
    start=$SECONDS
    # -nic none: nothing the guest sends can leave it. The smoke test ends within ~30 s.
    timeout 300 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 1G -smp 2 -nic none \
      -nographic -no-reboot -kernel "$vmlinuz" -initrd "$initrd" \
      -append "console=ttyS0 rdinit=/init panic=-1 quiet" </dev/null >"$log" 2>&1 || true
    tr -d '\r' <"$log" >"$log.txt"
    kver=$(sed -n 's/.*OJH-KERNEL //p' "$log.txt" | head -1)
    echo "# $label build on $suite: $pkg (uname ${kver:-?}), $((SECONDS - start)) s"
    grep -E '^(ok|not ok|#) ' "$log.txt" | sed "s/^/  /" || true
    if ! grep -q '^OJH-DONE 0$' "$log.txt"; then
      echo "not ok - $label build on $suite: smoke test failed (console log follows)"
      grep -v -E '^(ok|#) ' "$log.txt" | tail -40
      status=1
    else
      echo "ok - $label build on $suite ($kver): programs load and block"
    fi
  done
done
exit "$status"
