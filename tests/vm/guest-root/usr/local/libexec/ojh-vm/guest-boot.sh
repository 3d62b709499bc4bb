#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Mounts the host's 9p share and hands over to its run-guest.sh. Lives in the image, so a
# run-guest.sh edit needs no new image; everything the tests do is in the share.
set -euo pipefail
modprobe -a 9p 9pnet_virtio
mkdir -p /share
mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576 share /share
exec /bin/bash /share/run-guest.sh
