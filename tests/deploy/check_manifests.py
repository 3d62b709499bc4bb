# SPDX-License-Identifier: Apache-2.0
"""Offline checks of the deployment files under deploy/ (no cluster, no network).

Usage: check_manifests.py DEPLOY_DIR [INSTALLER_HELP_FILE]

Prints one "PASS: ..." / "FAIL: ..." line per check and exits 1 when any check failed. Every
YAML document must parse and name apiVersion, kind and metadata.name; workloads must select
their own pods, pin images, request resources, drop capabilities, and mount only what they
declare; the installer needs no RBAC. Every TOML file must parse, and the CRI-O and containerd
settings the docs rely on must be there.
"""
import fnmatch
import pathlib
import re
import sys
import tomllib

import yaml

failures = 0
passes = 0


def check(ok, what):
    global failures, passes
    if ok:
        passes += 1
        print(f"PASS: {what}")
    else:
        failures += 1
        print(f"FAIL: {what}")
    return ok


def pod_spec_of(doc):
    kind = doc.get("kind")
    if kind == "Pod":
        return doc.get("spec") or {}
    if kind in ("DaemonSet", "Deployment", "StatefulSet", "Job", "ReplicaSet"):
        return ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    return None


def check_container(name, c, pod_volumes):
    image = c.get("image", "")
    check(bool(re.fullmatch(r"[\w.\-/:]+:[\w.\-]+(@sha256:[0-9a-f]{64})?", image))
          and not image.endswith(":latest"),
          f"{name}: image {image!r} is set and pinned to a tag (not :latest)")
    requests = (c.get("resources") or {}).get("requests") or {}
    check("cpu" in requests and "memory" in requests, f"{name}: requests cpu and memory")
    check("memory" in ((c.get("resources") or {}).get("limits") or {}), f"{name}: memory limit")
    sc = c.get("securityContext") or {}
    check(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation: false")
    check(sc.get("privileged") in (None, False), f"{name}: not privileged")
    check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
          f"{name}: drops ALL capabilities")
    added = set((sc.get("capabilities") or {}).get("add") or [])
    check(added <= {"SYS_CHROOT"}, f"{name}: adds no capability but SYS_CHROOT ({sorted(added)})")
    check(sc.get("readOnlyRootFilesystem") is True, f"{name}: read-only root filesystem")
    mounts = c.get("volumeMounts") or []
    undeclared = [m.get("name") for m in mounts if m.get("name") not in pod_volumes]
    check(not undeclared, f"{name}: every volumeMount names a pod volume ({undeclared})")
    return mounts


def check_workload(path, doc, service_accounts):
    name = f"{path.name}: {doc['kind']} {doc['metadata']['name']}"
    spec = pod_spec_of(doc)
    if doc["kind"] != "Pod":
        selector = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        labels = ((((doc.get("spec") or {}).get("template") or {}).get("metadata") or {})
                  .get("labels") or {})
        check(bool(selector) and all(labels.get(k) == v for k, v in selector.items()),
              f"{name}: selector {selector} matches the template labels")
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    mounted = {}
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or []:
            for m in check_container(f"{name}: {kind[:-1]} {c.get('name')}", c, volumes):
                mounted.setdefault(m.get("name"), []).append(m)
    check(bool(spec.get("containers")), f"{name}: has containers")
    unused = sorted(set(volumes) - set(mounted))
    check(not unused, f"{name}: every volume is mounted ({unused})")
    for vname, vol in volumes.items():
        host = vol.get("hostPath")
        if host is None:
            continue
        check(host.get("type") in ("Directory", "DirectoryOrCreate", "File", "Socket"),
              f"{name}: hostPath {host.get('path')} has an explicit type")
        if host.get("path") == "/":
            check(all(m.get("readOnly") is True for m in mounted.get(vname, [])),
                  f"{name}: the host root is mounted read-only")
    if doc["kind"] != "Pod":
        sa = spec.get("serviceAccountName")
        check(sa in service_accounts, f"{name}: service account {sa!r} is defined beside it")
        check(spec.get("automountServiceAccountToken") is False,
              f"{name}: no API token mounted (automountServiceAccountToken: false)")
        check(bool(spec.get("tolerations")), f"{name}: has tolerations")
        check((spec.get("nodeSelector") or {}).get("kubernetes.io/os") == "linux",
              f"{name}: nodeSelector kubernetes.io/os: linux")
    return spec


def check_kubernetes(deploy, installer_help):
    docs = []
    yaml_files = sorted(p for p in deploy.rglob("*") if p.suffix in (".yaml", ".yml"))
    check(bool(yaml_files), f"YAML files found under {deploy}")
    for path in yaml_files:
        try:
            loaded = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as e:
            check(False, f"{path.name}: parses as YAML ({e})")
            continue
        check(bool(loaded), f"{path.name}: parses as YAML, {len(loaded)} document(s)")
        for doc in loaded:
            ok = isinstance(doc, dict) and bool(doc.get("apiVersion")) and bool(doc.get("kind"))
            if ok and doc["kind"] != "Kustomization":
                ok = bool((doc.get("metadata") or {}).get("name"))
            kind = doc.get("kind") if isinstance(doc, dict) else repr(doc)
            needs = "apiVersion and kind" if kind == "Kustomization" else \
                "apiVersion, kind and metadata.name"
            if check(ok, f"{path.name}: {kind} has {needs}"):
                docs.append((path, doc))

    service_accounts = {d["metadata"]["name"] for _, d in docs if d["kind"] == "ServiceAccount"}
    namespaces = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Namespace"}
    rbac = [f"{p.name}: {d['kind']}" for p, d in docs
            if d["kind"] in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")]
    check(not rbac, f"no RBAC objects: the installer talks to no API server ({rbac})")

    for path, doc in docs:
        kind = doc["kind"]
        if kind == "Kustomization":
            for patch in doc.get("patches") or []:
                ops = yaml.safe_load(patch.get("patch", "")) or []
                check(isinstance(ops, list) and all(o.get("op") in ("add", "replace", "remove")
                                                     and o.get("path", "").startswith("/spec/")
                                                     for o in ops),
                      f"{path.name}: inline JSON 6902 patch parses ({len(ops)} ops)")
            continue
        ns = doc["metadata"].get("namespace")
        # The example pod goes wherever its user runs it; the installer's objects belong together.
        if kind == "ServiceAccount" or (kind != "Pod" and pod_spec_of(doc) is not None):
            check(ns in namespaces, f"{path.name}: {kind} {doc['metadata']['name']} is in a "
                                    f"namespace defined beside it ({ns})")
        if pod_spec_of(doc) is not None:
            spec = check_workload(path, doc, service_accounts)
            if installer_help is not None:
                for c in spec.get("initContainers") or []:
                    flags = [a for a in c.get("args") or [] if a.startswith("--")]
                    unknown = [f for f in flags if f not in installer_help]
                    check(not unknown, f"{path.name}: installer args {flags} are options "
                                       f"install-on-node.sh documents ({unknown})")
        if kind == "Pod":
            annotations = doc["metadata"].get("annotations") or {}
            check(annotations.get("jail.block-host") == "true",
                  f"{path.name}: example pod asks for jail.block-host: \"true\" (a string)")
    for name, ns in namespaces.items():
        labels = ns["metadata"].get("labels") or {}
        check(labels.get("pod-security.kubernetes.io/enforce") == "privileged",
              f"namespace {name}: Pod Security level privileged (hostPath volumes)")


def go_path_match_any(patterns, key):
    # containerd uses Go's path.Match: like fnmatch, except that * does not cross "/".
    return any(fnmatch.fnmatchcase(key, p) and ("/" not in key or "/" in p) for p in patterns)


def check_toml(deploy):
    toml_files = sorted(p for p in deploy.rglob("*") if p.suffix == ".toml" or
                        (p.parent.name == "crio" and p.suffix == ".conf"))
    check(bool(toml_files), f"TOML files found under {deploy}")
    parsed = {}
    for path in toml_files:
        try:
            parsed[path.relative_to(deploy).as_posix()] = tomllib.loads(path.read_text())
            check(True, f"{path.relative_to(deploy)}: parses as TOML")
        except tomllib.TOMLDecodeError as e:
            check(False, f"{path.relative_to(deploy)}: parses as TOML ({e})")

    crio = parsed.get("crio/10-oci-jail-hook.conf", {})
    hooks_dir = crio.get("crio", {}).get("runtime", {}).get("hooks_dir")
    check(hooks_dir == ["/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d"],
          f"CRI-O drop-in: [crio.runtime] hooks_dir lists /usr/share then /etc ({hooks_dir})")
    check(set(crio) <= {"crio"} and set(crio.get("crio", {})) <= {"runtime"},
          "CRI-O drop-in: sets nothing outside [crio.runtime]")

    # Every annotation the hook knows (oci/annotations.hpp), so a new key cannot be forgotten.
    header = (deploy.parent / "oci" / "annotations.hpp").read_text()
    wanted = sorted(set(re.findall(r'"(jail\.block-host(?:\.[a-z-]+)*)"', header)))
    check("jail.block-host" in wanted and len(wanted) > 1,
          f"annotation keys read from oci/annotations.hpp ({wanted})")
    for name, version, cri in (("containerd/config-1.7.toml", 2, "io.containerd.grpc.v1.cri"),
                               ("containerd/oci-jail-hook-2.x.toml", 3,
                                "io.containerd.cri.v1.runtime")):
        doc = parsed.get(name, {})
        plugins = doc.get("plugins", {})
        check(doc.get("version") == version, f"{name}: version = {version}")
        nri = plugins.get("io.containerd.nri.v1.nri", {})
        check(nri.get("disable") is False and nri.get("disable_connections") is False,
              f"{name}: NRI enabled, external plugins may connect")
        runc = plugins.get(cri, {}).get("containerd", {}).get("runtimes", {}).get("runc", {})
        patterns = runc.get("pod_annotations", [])
        missing = [k for k in wanted if not go_path_match_any(patterns, k)]
        check(not missing, f"{name}: pod_annotations {patterns} pass every jail.block-host "
                           f"annotation through ({missing})")
        others = ["kubectl.kubernetes.io/last-applied-configuration", "unrelated", "jail"]
        leaked = [k for k in others if go_path_match_any(patterns, k)]
        check(not leaked, f"{name}: pod_annotations pass nothing else ({leaked})")
        check(runc.get("runtime_type") == "io.containerd.runc.v2", f"{name}: runc runtime_type")
    validator = parsed.get("containerd/oci-jail-hook-2.2-validator.toml", {})
    dv = validator.get("plugins", {}).get("io.containerd.nri.v1.nri", {}).get("default_validator")
    check(dv == {"enable": True}, f"containerd 2.2 validator: enabled, nothing required globally ({dv})")


def check_containerfile(deploy):
    path = deploy / "kubernetes" / "Containerfile"
    top = deploy.parent
    sources = []
    for m in re.finditer(r"^COPY (?!--from)((?:[^\n\\]|\\\n)+)", path.read_text(), re.M):
        words = m.group(1).replace("\\\n", " ").split()
        sources += [w for w in words[:-1] if w != "."]
    missing = [s for s in sources if not (top / s).exists()]
    check(bool(sources) and not missing,
          f"Containerfile: every COPY source exists in the repository ({missing})")


def main():
    deploy = pathlib.Path(sys.argv[1])
    installer_help = None
    if len(sys.argv) > 2:
        installer_help = set(re.findall(r"--[a-z][a-z-]*", pathlib.Path(sys.argv[2]).read_text()))
    check_kubernetes(deploy, installer_help)
    check_toml(deploy)
    if (deploy / "kubernetes" / "Containerfile").exists():
        check_containerfile(deploy)
    print(f"check_manifests: {passes} passed, {failures} failed")
    return 1 if failures or not passes else 0


if __name__ == "__main__":
    sys.exit(main())
