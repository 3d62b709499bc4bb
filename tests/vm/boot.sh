#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# boot.sh IMAGE SHARE CONSOLE_LOG — boots IMAGE (with IMAGE.vmlinuz and IMAGE.initrd) under
# qemu TCG with SHARE as the 9p share "share", until the guest powers off or the timeout
# (OJH_VM_TIMEOUT seconds, default 1500) ends it. The serial console goes to CONSOLE_LOG.
# Exit status: qemu's, or 124 on timeout.
#
# TCG, not KVM: the machines' /dev/kvm is a paravirtual KVM that cannot boot a stock
# kernel. -nic none: nothing the guest sends can leave it. snapshot=on: the guest's writes
# go to a temporary overlay, so the cached image is never changed. panic=-1 with -no-reboot:
# a guest kernel panic (seen once under TCG at boot: an int3 in sched_clock_cpu, as a static
# key was patched) ends qemu at once instead of halting until the timeout.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

image=$1
share=$2
console=$3
timeout=${OJH_VM_TIMEOUT:-1500}

qemu_pid=
# shellcheck disable=SC2317  # called by the EXIT trap
stop_qemu() {
  if [[ -n $qemu_pid ]]; then kill "$qemu_pid" 2>/dev/null || true; fi
}
trap stop_qemu EXIT
trap 'exit 143' TERM INT

# In the background, so that a ctest timeout (SIGTERM to this script) still ends qemu.
timeout --kill-after=15 "$timeout" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -m 4G -smp 2 -nic none -nographic -no-reboot \
  -kernel "$image.vmlinuz" -initrd "$image.initrd" \
  -append 'root=/dev/vda rw console=ttyS0 systemd.show_status=auto panic=-1' \
  -drive "file=$image,format=raw,if=virtio,snapshot=on" \
  -virtfs "local,path=$share,mount_tag=share,security_model=none" \
  </dev/null >"$console" 2>&1 &
qemu_pid=$!
rc=0
wait "$qemu_pid" || rc=$?
qemu_pid=
exit "$rc"
