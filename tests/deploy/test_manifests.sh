#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Offline validation of deploy/: every Kubernetes YAML and every CRI-O / containerd TOML file
# (check_manifests.py), then the same checker on copies with one known mistake each, which it
# must reject -- so a checker that passes everything cannot go unnoticed. yamllint and
# kubeconform run too when installed (kubeconform only with schemas available offline:
# KUBECONFORM_SCHEMA_LOCATION).
#
# Environment: OJH_SOURCE_DIR (the repository; default: two levels up).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=${OJH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
checker=$(dirname "$(readlink -f "$0")")/check_manifests.py
python=$(deploy_python_with_yaml) ||
  ts_skip "no python3 with PyYAML and tomllib (Debian: python3-yaml, Python >= 3.11)"
deploy_make_tmp

"$top/deploy/kubernetes/install-on-node.sh" --help >"$DEPLOY_TMP/installer-help" ||
  ts_die "install-on-node.sh --help failed"

run_checker() {  # run_checker DEPLOY_DIR — output in $DEPLOY_TMP/out
  "$python" "$checker" "$1" "$DEPLOY_TMP/installer-help" >"$DEPLOY_TMP/out" 2>&1
}

if run_checker "$top/deploy"; then
  ts_pass "deploy/: $(tail -1 "$DEPLOY_TMP/out")"
else
  grep '^FAIL' "$DEPLOY_TMP/out" || tail -5 "$DEPLOY_TMP/out"
  ts_fail "deploy/ passes check_manifests.py"
fi

# mutant NAME FILE PYTHON-EXPRESSION EXPECTED-FAIL-TEXT: a copy of the repository's deploy/
# (with what the checker reads beside it) whose FILE is rewritten by the expression over `s`.
mutant() {
  local name=$1 file=$2 expr=$3 expected=$4 copy=$DEPLOY_TMP/mutant-$1
  mkdir -p "$copy/oci" "$copy/share/containers/oci"
  cp -r "$top/deploy" "$copy/"
  cp "$top/oci/annotations.hpp" "$copy/oci/"
  cp -r "$top/share/containers/oci/hooks.d" "$copy/share/containers/oci/"
  "$python" -c 'import sys; p = sys.argv[1]; s = open(p).read(); t = eval(sys.argv[2]);
assert t != s, "mutation did not apply"; open(p, "w").write(t)' "$copy/deploy/$file" "$expr" ||
    ts_die "mutation $name did not apply to $file"
  if run_checker "$copy/deploy"; then
    ts_fail "checker rejects $name (it passed)"
  elif grep -q "^FAIL: .*$expected" "$DEPLOY_TMP/out"; then
    ts_pass "checker rejects $name"
  else
    grep '^FAIL' "$DEPLOY_TMP/out" | head -3
    ts_fail "checker rejects $name for the right reason (\"$expected\")"
  fi
}

ds=kubernetes/oci-jail-hook.yaml
mutant "a selector that does not match the pod labels" "$ds" \
  's.replace("      app.kubernetes.io/name: oci-jail-hook-installer\n  updateStrategy", "      app.kubernetes.io/name: other\n  updateStrategy")' \
  "selector .* matches the template labels"
mutant "a privileged container" "$ds" \
  's.replace("privileged: false", "privileged: true", 1)' "not privileged"
mutant "an extra capability" "$ds" \
  's.replace("add: [\"SYS_CHROOT\"]", "add: [\"SYS_CHROOT\", \"SYS_ADMIN\"]")' \
  "adds no capability but SYS_CHROOT"
mutant "a writable host root" "$ds" \
  's.replace("mountPath: /host\n              readOnly: true", "mountPath: /host")' \
  "host root is mounted read-only"
mutant "an unpinned image" "$ds" \
  's.replace("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:latest")' "pinned to a tag"
mutant "a mount of an undeclared volume" "$ds" 's.replace("- name: tmp\n              mountPath", "- name: scratch\n              mountPath")' \
  "every volumeMount names a pod volume"
mutant "an installer option the script does not have" "$ds" \
  's.replace("\"--crio-dropin\", \"auto\"", "\"--crio\", \"auto\"")' "installer args"
mutant "an RBAC role" "$ds" \
  's + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: x\nrules: []\n"' \
  "no RBAC objects"
mutant "a YAML syntax error" "$ds" 's.replace("kind: DaemonSet", "kind: [DaemonSet")' "parses as YAML"
mutant "hooks_dir outside [crio.runtime]" crio/10-oci-jail-hook.conf \
  's.replace("[crio.runtime]\n", "")' "hooks_dir lists"
mutant "hooks_dir in the wrong precedence order" crio/10-oci-jail-hook.conf \
  's.replace("  \"/usr/share/containers/oci/hooks.d\",\n  \"/etc/containers/oci/hooks.d\",", "  \"/etc/containers/oci/hooks.d\",\n  \"/usr/share/containers/oci/hooks.d\",")' \
  "hooks_dir lists"
mutant "pod_annotations without the policy sub-keys" containerd/oci-jail-hook-2.x.toml \
  's.replace(", '"'"'jail.block-host.*'"'"'", "")' "pass every jail.block-host annotation"
mutant "pod_annotations passing everything" containerd/config-1.7.toml \
  's.replace("pod_annotations = [\"jail.block-host\", \"jail.block-host.*\"]", "pod_annotations = [\"*\"]")' \
  "pass nothing else"
mutant "NRI left disabled" containerd/config-1.7.toml \
  's.replace("disable = false", "disable = true", 1)' "NRI enabled"
mutant "a TOML syntax error" containerd/oci-jail-hook-2.x.toml 's.replace("version = 3", "version = ")' \
  "parses as TOML"
mutant "a Containerfile COPY of a missing file" kubernetes/Containerfile \
  's.replace("deploy/crio/10-oci-jail-hook.conf", "deploy/crio/missing.conf")' "COPY source exists"

if command -v yamllint >/dev/null; then
  # Style is not the point: only syntax errors and duplicate keys count.
  if yamllint -d '{rules: {key-duplicates: enable}}' "$top/deploy" >"$DEPLOY_TMP/yamllint" 2>&1; then
    ts_pass "yamllint: no syntax errors or duplicate keys"
  else
    cat "$DEPLOY_TMP/yamllint"
    ts_fail "yamllint: no syntax errors or duplicate keys"
  fi
fi
if command -v kubeconform >/dev/null && [[ -n ${KUBECONFORM_SCHEMA_LOCATION:-} ]]; then
  ts_check "kubeconform: schemas valid" kubeconform -strict -summary \
    -schema-location "$KUBECONFORM_SCHEMA_LOCATION" \
    "$top/deploy/kubernetes/oci-jail-hook.yaml" "$top/deploy/kubernetes/example-pod.yaml"
fi

ts_finish
