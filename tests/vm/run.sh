#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh — the VM tier: boots a Debian 13 (trixie) guest with systemd, cgroup v2, podman,
# crun, runc, netavark and containerd under qemu TCG, with the project built and installed
# in it as a user would, and runs the guest scenarios (guest/test_*.sh) there.
#   image.sh      the cached image (rootfs.sh: mmdebstrap; build.sh: the project)
#   boot.sh       qemu, bounded by OJH_VM_TIMEOUT (default 1500 s)
#   guest/        run-guest.sh, lib.sh and the scenarios, handed over in a 9p share
# Prints one TAP line per scenario and the timings. Exit 0: every scenario passed; 1: one
# failed, the guest did not finish, or results are missing; 77: qemu cannot run here.
# The last run's results and console log stay in $VM_CACHE/last-run for a post-mortem.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || vm_skip "needs root (mmdebstrap, bubblewrap builds, qemu with a 9p share)"
command -v qemu-system-x86_64 >/dev/null ||
  vm_skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg ||
  vm_skip "this qemu-system-x86_64 has no TCG accelerator"
for tool in mmdebstrap bwrap mke2fs zstd; do
  command -v "$tool" >/dev/null || vm_skip "$tool is not installed (scripts/deps.sh installs it)"
done

total=$SECONDS
start=$SECONDS
image=$("$VM_DIR/image.sh" trixie)
t_image=$(vm_seconds_since "$start")

work=$(mktemp -d /var/tmp/ojh-vm-run.XXXXXX)
boot_pid=
# shellcheck disable=SC2317  # called by the traps
cleanup() {
  if [[ -n $boot_pid ]]; then kill "$boot_pid" 2>/dev/null || true; wait "$boot_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
share=$work/share
mkdir -p "$share/results"
cp "$VM_DIR"/guest/* "$share/"

start=$SECONDS
boot_rc=0
# In the background: a TERM (ctest's timeout) interrupts `wait`, and cleanup ends qemu.
"$VM_DIR/boot.sh" "$image" "$share" "$work/console.log" &
boot_pid=$!
wait "$boot_pid" || boot_rc=$?
boot_pid=
t_boot=$(vm_seconds_since "$start")

results=$share/results
last=$VM_CACHE/last-run
rm -rf "$last"
mkdir -p "$last"
cp -r "$results/." "$last/"
tr -d '\r' <"$work/console.log" >"$last/console.log"

status=0
echo "# VM tier: $(basename "$image") ($(tr '\n' ';' <"$results/info.txt" 2>/dev/null | sed 's/;/; /g'))"
if [[ -s $results/tap ]]; then
  cat "$results/tap"
else
  echo "not ok - the guest reported no scenario"
  status=1
fi
grep -q '^not ok \|^Bail out!' "$results/tap" 2>/dev/null && status=1
if [[ ! -f $results/done ]]; then
  if ((boot_rc == 124)); then
    echo "not ok - the guest did not finish within ${OJH_VM_TIMEOUT:-1500} s"
  else
    echo "not ok - the guest did not finish (qemu exit $boot_rc)"
  fi
  status=1
fi

if ((status != 0)); then
  # The cause of each failure, then the end of the console, in the test's own output.
  grep '^not ok ' "$results/tap" 2>/dev/null | sed 's/^not ok [0-9]* - //; s/ # .*//' |
    while read -r name; do
      slug=$(printf '%s' "$name" | tr -c 'A-Za-z0-9.-' '_' | cut -c1-80)
      [[ -f $results/logs/$slug.log ]] || continue
      echo "# --- log of: $name"
      tail -n 40 "$results/logs/$slug.log" | sed 's/^/#   /'
    done
  if [[ ! -f $results/done ]]; then
    echo "# --- end of the guest's console"
    tail -n 40 "$last/console.log" | sed 's/^/#   /'
  fi
  echo "# full results: $last"
fi
echo "# timings: image ${t_image} s (cached when unchanged), boot + scenarios ${t_boot} s" \
  "(guest run $(cat "$results/done" 2>/dev/null || echo ?) s), total $(vm_seconds_since "$total") s"
exit "$status"
