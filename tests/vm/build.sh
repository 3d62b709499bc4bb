#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# build.sh ROOTFS TREE — builds the project's git TREE inside the guest's root file system
# ROOTFS at native speed and installs it the way a user on that distro does:
#   cmake -S . -B build && cmake --build build && cmake --install build --prefix /usr
#   systemctl enable oci-jail-hook-watch.service oci-jail-hook.socket
# so the hooks.d JSON lands in /usr/share/containers/oci/hooks.d, podman's default.
# It runs under bubblewrap (vm_in_root); the log is ROOTFS/var/log/ojh-build.log.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

rootfs=$1
tree=$2
command -v bwrap >/dev/null || vm_skip "bubblewrap is not installed (apt-get install bubblewrap)"

src=/usr/src/oci-jail-hook
rm -rf "${rootfs:?}$src"
mkdir -p "$rootfs$src"
git -C "$VM_SRC_ROOT" archive --format=tar "$tree" | tar -C "$rootfs$src" -x

# The test binaries too (Catch2 3 here), so that the guest runs the unit and bpf tiers of
# its own build on its own kernel (guest/test_build_tests.sh); they cannot run here, in a
# sandbox without cgroups. OJH_VM_BUILD_TESTING=OFF builds the product alone.
testing=${OJH_VM_BUILD_TESTING:-ON}

# jail-probe is the ground truth of the e2e tier; built static so that it runs in the
# guest's busybox containers, which have no libc.
script=$(cat <<SCRIPT
set -eu
cd $src
cmake -S . -B build -DBUILD_TESTING=$testing
cmake --build build -j$(nproc)
cmake --install build --prefix /usr
# The README's next step: new host addresses (a bridge netavark makes later) refused at once.
if [ -f /usr/lib/systemd/system/oci-jail-hook-watch.service ]; then
  systemctl enable oci-jail-hook-watch.service
fi
# Denials in the journal (journalctl -u oci-jail-hook-events).
if [ -f /usr/lib/systemd/system/oci-jail-hook-events.service ]; then
  systemctl enable oci-jail-hook-events.service
fi
# And the one admin step for rootless containers: the attach service their hooks ask
# (socket-activated; \`systemctl enable --now\` on a running host).
systemctl enable oci-jail-hook.socket
mkdir -p /usr/local/libexec/ojh-vm
cc -O2 -Wall -static -o /usr/local/libexec/ojh-vm/jail-probe tests/probe/jail-probe.c
SCRIPT
)

log=$rootfs/var/log/ojh-build.log
if ! vm_in_root "$rootfs" -- /bin/sh -c "$script" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  vm_die "the build in the guest's root file system failed (log above)"
fi
