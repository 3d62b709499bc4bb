#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# base-spec.sh [HOOKS_DIR] > /etc/containerd/oci-jail-hook-base-spec.json
#
# A base_runtime_spec for containerd 1.7's CRI plugin: containerd's own default spec
# (`ctr oci spec`, the spec CRI starts from when no base is set) plus oci-jail-hook's
# createRuntime and poststop hooks, taken from the installed hooks.d files (default
# /usr/share/containers/oci/hooks.d) so path, args and timeout are the ones podman uses.
# Unlike hooks.d, a base spec has no "when": the hook runs for every container of the
# runtime handler and does nothing where jail.block-host is absent or "false".
set -eu
dir=${1:-/usr/share/containers/oci/hooks.d}
create=$dir/oci-jail-hook-create-runtime.json
poststop=$dir/oci-jail-hook-poststop.json
for f in "$create" "$poststop"; do
  [ -r "$f" ] || { echo "base-spec.sh: no $f (is oci-jail-hook installed?)" >&2; exit 1; }
done
ctr oci spec | jq --slurpfile c "$create" --slurpfile p "$poststop" '
  .hooks.createRuntime = ((.hooks.createRuntime // []) + [$c[0].hook]) |
  .hooks.poststop = ((.hooks.poststop // []) + [$p[0].hook])'
