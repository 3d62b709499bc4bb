#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# deploy/containerd/make-base-spec.sh offline, under the node's POSIX sh, with a stand-in `ctr`
# that prints a default spec shaped like containerd's (`ctr oci spec`) and hooks.d files made
# from the repository's templates: the hooks are the templates' (path, args, timeout), in the
# right stages, and they are the only change besides the default rlimits, AppArmor and seccomp
# settings (which the CRI plugin drops itself when there is no base spec); -o writes the file
# 0644 and leaves nothing beside it; every refusal (no hooks.d file, a hook.path that is not
# executable, a ctr that fails or prints no spec) exits 1 and leaves an existing file as it was.
# What containerd does with the file is the VM tier's (tests/vm/guest/test_containerd.sh).
#
# Environment: OJH_SOURCE_DIR (the repository; default: two levels up).
# Checks are single-quoted eval strings (run inside ts_check), so shellcheck sees neither
# the expansions nor the uses of the variables and helpers they name:
# shellcheck disable=SC2016,SC2034,SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=${OJH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
script=$top/deploy/containerd/make-base-spec.sh
ts_require jq sh
[[ -f $script ]] || ts_die "no $script"
deploy_make_tmp

# The stand-in ctr: prints $DEPLOY_TMP/ctr-says with exit status $DEPLOY_TMP/ctr-rc.
mkdir -p "$DEPLOY_TMP/bin" "$DEPLOY_TMP/hooks.d" "$DEPLOY_TMP/etc"
cat >"$DEPLOY_TMP/bin/ctr" <<EOF
#!/bin/sh
[ "\$*" = "oci spec" ] || { echo "stand-in ctr: unexpected arguments: \$*" >&2; exit 99; }
cat "$DEPLOY_TMP/ctr-says"
exit "\$(cat "$DEPLOY_TMP/ctr-rc")"
EOF
chmod 0755 "$DEPLOY_TMP/bin/ctr"
cat >"$DEPLOY_TMP/default.json" <<'EOF'
{
  "ociVersion": "1.1.0",
  "process": {
    "user": {"uid": 0, "gid": 0},
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_NET_RAW"],
      "effective": ["CAP_CHOWN", "CAP_NET_RAW"],
      "permitted": ["CAP_CHOWN", "CAP_NET_RAW"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "apparmorProfile": "some-profile",
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs"},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "cgroupsPath": "/default",
    "seccomp": {"defaultAction": "SCMP_ACT_ERRNO"},
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}],
    "maskedPaths": ["/proc/acpi"],
    "readonlyPaths": ["/proc/bus"]
  }
}
EOF
ctr_says() { cp "$1" "$DEPLOY_TMP/ctr-says"; echo "${2:-0}" >"$DEPLOY_TMP/ctr-rc"; }
ctr_says "$DEPLOY_TMP/default.json"

# hooks.d files as the install makes them, pointing at an executable stand-in.
hook=$DEPLOY_TMP/libexec/oci-jail-hook
mkdir -p "${hook%/*}"
printf '#!/bin/sh\nexit 0\n' >"$hook"
chmod 0755 "$hook"
for stage in create-runtime poststop; do
  sed "s|@OJH_HOOK_PATH@|$hook|" "$top/share/containers/oci/hooks.d/oci-jail-hook-$stage.json.in" \
    >"$DEPLOY_TMP/hooks.d/oci-jail-hook-$stage.json"
done

make_spec() {  # make_spec ARGS... — output in $DEPLOY_TMP/out, messages in $DEPLOY_TMP/err
  PATH=$DEPLOY_TMP/bin:$PATH sh "$script" "$@" >"$DEPLOY_TMP/out" 2>"$DEPLOY_TMP/err"
}

out=$DEPLOY_TMP/out
ts_check "prints the spec (-d HOOKS_DIR)" make_spec -d "$DEPLOY_TMP/hooks.d"
for stage in create-runtime:createRuntime poststop:poststop; do
  json=$DEPLOY_TMP/hooks.d/oci-jail-hook-${stage%%:*}.json
  ts_check "hooks.${stage#*:} is the hooks.d file's hook (path, args, timeout), alone" \
    eval 'jq -e --slurpfile h "$json" --arg s "${stage#*:}" \
            ".hooks[\$s] == [\$h[0].hook] and \$h[0].hook.path == \"$hook\" and
             \$h[0].hook.timeout > 0" "$out" >/dev/null'
done
ts_check "no other hook stage" \
  eval '[[ $(jq -c ".hooks | keys" "$out") == "[\"createRuntime\",\"poststop\"]" ]]'
ts_check "rlimits, AppArmor profile and seccomp removed (what CRI drops without a base spec)" \
  eval 'jq -e ".process.rlimits == null and .process.apparmorProfile == null and
                .linux.seccomp == null" "$out" >/dev/null'
jq -S 'del(.process.rlimits, .process.apparmorProfile, .linux.seccomp)' "$DEPLOY_TMP/default.json" \
  >"$DEPLOY_TMP/expected.json"
ts_check "everything else is ctr's default spec, unchanged" \
  eval '[[ $(jq -S "del(.hooks)" "$out") == "$(cat "$DEPLOY_TMP/expected.json")" ]]'

spec=$DEPLOY_TMP/etc/oci-jail-hook-base-spec.json
ts_check "-o OUTPUT writes the file, prints nothing" \
  eval 'make_spec -d "$DEPLOY_TMP/hooks.d" -o "$spec" && [[ ! -s $out ]] &&
        jq -e ".hooks.createRuntime[0].path == \"$hook\"" "$spec" >/dev/null'
ts_check "-o OUTPUT: mode 0644, nothing left beside it" \
  eval '[[ $(stat -c %a "$spec") == 644 && $(ls "$DEPLOY_TMP/etc") == oci-jail-hook-base-spec.json ]]'
cp "$spec" "$DEPLOY_TMP/good.json"

# refused TEXT — make_spec -o $spec must exit 1 saying TEXT and leave $spec as it was.
refused() {
  local text=$1 rc=0
  shift
  make_spec -d "$DEPLOY_TMP/hooks.d" -o "$spec" || rc=$?
  if ((rc == 1)) && grep -qF -- "$text" "$DEPLOY_TMP/err" && cmp -s "$spec" "$DEPLOY_TMP/good.json" &&
    [[ $(ls "$DEPLOY_TMP/etc") == oci-jail-hook-base-spec.json ]]; then
    return 0
  fi
  echo "exit $rc: $(cat "$DEPLOY_TMP/err")"
  return 1
}
chmod 0644 "$hook"
ts_check "refused: hook.path not executable (the file is kept)" refused "is not an executable file"
chmod 0755 "$hook"
mv "$DEPLOY_TMP/hooks.d/oci-jail-hook-poststop.json" "$DEPLOY_TMP/poststop.json"
ts_check "refused: no poststop hooks.d file" refused "oci-jail-hook-poststop.json"
mv "$DEPLOY_TMP/poststop.json" "$DEPLOY_TMP/hooks.d/oci-jail-hook-poststop.json"
jq '.stages = ["prestart"]' "$DEPLOY_TMP/hooks.d/oci-jail-hook-poststop.json" >"$DEPLOY_TMP/wrong.json"
cp "$DEPLOY_TMP/hooks.d/oci-jail-hook-poststop.json" "$DEPLOY_TMP/poststop.json"
cp "$DEPLOY_TMP/wrong.json" "$DEPLOY_TMP/hooks.d/oci-jail-hook-poststop.json"
ts_check "refused: a hooks.d file for another stage" refused "for the poststop stage"
cp "$DEPLOY_TMP/poststop.json" "$DEPLOY_TMP/hooks.d/oci-jail-hook-poststop.json"
ctr_says "$DEPLOY_TMP/default.json" 1
ts_check "refused: ctr oci spec fails" refused "ctr oci spec failed"
: >"$DEPLOY_TMP/empty"
ctr_says "$DEPLOY_TMP/empty"
ts_check "refused: ctr prints nothing" refused "did not print a Linux OCI spec"
echo '{"ociVersion": ' >"$DEPLOY_TMP/broken"
ctr_says "$DEPLOY_TMP/broken"
ts_check "refused: ctr prints broken JSON" refused "did not print JSON"
ctr_says "$DEPLOY_TMP/default.json"
ts_check "after the refusals, the same file again" \
  eval 'make_spec -d "$DEPLOY_TMP/hooks.d" -o "$spec" && cmp -s "$spec" "$DEPLOY_TMP/good.json"'
ts_check "an unknown option: usage, exit 2" \
  eval 'rc=0; make_spec -x || rc=$?; ((rc == 2)) && grep -q "^usage:" "$DEPLOY_TMP/err"'

ts_finish
