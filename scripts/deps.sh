#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package the build, the tests and the demo need. Idempotent.
set -euo pipefail

packages=(
  cmake g++ make pkg-config clang llvm
  libbpf-dev bpftool libcap-ng-dev rapidjson-dev libboost-program-options-dev catch2
  runc busybox-static iproute2 jq shellcheck
  nftables  # tests/e2e/test_dnat.sh, the bpf tier's DNAT case: a container's own NAT rules
  python3-yaml dpkg-dev file lintian groff-base
  podman crun conmon netavark
  uidmap catatonit  # rootless podman: newuidmap/newgidmap, its pause process
  libclang-rt-14-dev
  # VM tier (tests/vm): a Debian 13 guest built from packages, booted under TCG
  qemu-system-x86 mmdebstrap bubblewrap e2fsprogs cpio zstd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
