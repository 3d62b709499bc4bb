#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# enforce-all = true as docs/policy.md installs it for podman: the admin config at its
# default path, /etc/containers/oci-jail-hook.conf (a private tmpfs in the isolated view),
# and the hooks.d files of share/oci-jail-hook/hooks.d-enforce-all in a hooks directory after
# the default one — what /etc/containers/oci/hooks.d is to /usr/share/containers/oci/hooks.d
# — so that their names mask the annotation-gated files, as podman reads them.
#
#   - a container without any annotation runs and is enforced: TCP and UDP to the fake host
#     get EPERM and arrive nowhere; after `podman run --rm` nothing is left (poststop ran);
#   - jail.block-host=false is refused in podman's error, and the command never runs;
#   - control: with the default hooks directory only, the same container reaches the host
#     (the hook never runs for it: the files, not the key, decide that).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=policy_lib.sh
source "$(dirname "$0")/policy_lib.sh"
# shellcheck source=runtimes_lib.sh
source "$(dirname "$0")/runtimes_lib.sh"

e2e_runc_view "$@"
if why=$(rt_podman_unavailable); then e2e_skip "$why"; fi
ENFORCE_ALL_DIR=$HOOK_PREFIX/share/oci-jail-hook/hooks.d-enforce-all

# /etc/containers as on the host, plus the admin config the shipped hooks read.
ETC_COPY=$E2E_RUN_DIR/etc-containers
mkdir "$ETC_COPY"
if [[ -d /etc/containers ]]; then cp -a /etc/containers/. "$ETC_COPY/"; fi
_rt_private_dir /etc/containers 0755
cp -a "$ETC_COPY/." /etc/containers/ || e2e_die "filling the private /etc/containers"
printf 'enforce-all = true\n' >/etc/containers/oci-jail-hook.conf
chmod 0644 /etc/containers/oci-jail-hook.conf

rt_podman_setup
rt_podman_import_busybox
DEFAULT_ONLY=("${RT_PODMAN[@]}")
RT_PODMAN+=(--hooks-dir "$ENFORCE_ALL_DIR")

PORT=18130
for proto in tcp udp; do pl_listen "$E2E_HOST_NETNS" "$proto" "$E2E_HOST_V4" "$PORT"; done
TO_HOST=("connect tcp $E2E_HOST_V4 $PORT" "sendto udp $E2E_HOST_V4 $PORT")

# Every container here runs in the container netns.
CT_NET=(--network "ns:$E2E_CT_NETNS")

# probe_case RUN EXPECT [PODMAN-RUN-ARGS...] — the probes to the host, each with EXPECT.
probe_case() {
  local run=$1 expect=$2 out=$E2E_RUN_DIR/$1.out probes=() before
  shift 2
  mapfile -t probes < <(pl_with_expect "$expect" "${TO_HOST[@]}")
  before=$(rt_hook_links)
  if ! rt_podman_run "$run" "$out" "${CT_NET[@]}" "$@" "$RT_IMAGE" sh -c "echo container-started
$(pl_probe_script "$run" "${probes[@]}")
echo container-done"; then
    e2e_fail "$run: podman run failed: $(tail -n 3 "$out" | tr '\n' ' ')"
    return 0
  fi
  e2e_pass "$run: podman run succeeded"
  e2e_check "$run: the container ran to its end" grep -qx container-done "$out"
  pl_check_probes "$run" "$out" "${probes[@]}"
  rt_expect_cleaned "$run: after podman run --rm" "$(rt_podman_cid "$run")" "$before"
}

[[ -f $ENFORCE_ALL_DIR/oci-jail-hook-create-runtime.json &&
  -f $ENFORCE_ALL_DIR/oci-jail-hook-poststop.json ]] ||
  e2e_die "$ENFORCE_ALL_DIR lacks the enforce-all hooks.d files"

probe_case unannotated blocked

run=refused-false
out=$E2E_RUN_DIR/$run.out
before=$(rt_hook_links)
if rt_podman_run "$run" "$out" "${CT_NET[@]}" -v "$MARKERS:/markers" \
  --annotation jail.block-host=false "$RT_IMAGE" touch "/markers/$run"; then
  e2e_fail "$run: podman run succeeded"
else
  e2e_pass "$run: podman run failed"
fi
rt_expect_hook_refusal "$run: in podman's output" "$out" "$(rt_podman_cid "$run")" \
  "annotation jail.block-host=false is not permitted on this host (admin config: enforce-all = true)"
e2e_check "$run: the container's command never ran" test ! -e "$MARKERS/$run"
rt_expect_cleaned "$run" "$(rt_podman_cid "$run")" "$before"

RT_PODMAN=("${DEFAULT_ONLY[@]}")
probe_case default-files-only reached

e2e_finish
