#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a one-layer OCI image archive (oci-layout, index.json, blobs) for
`ctr -n k8s.io images import`: the guest has no registry to pull from.

    oci_image.py OUT.tar NAME --busybox /bin/busybox [--add SRC:DEST]... [--applet A]... -- CMD...

Every applet of that busybox is linked into /bin unless --applet names some.

NAME (e.g. localhost/ojh/busybox:test) goes into the index as io.containerd.image.name,
which ctr takes verbatim, so the CRI sees exactly NAME; CMD is the image's Cmd (the pod
sandbox's process when the image serves as sandbox_image).
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile


def deterministic(info):
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def layer(busybox, applets, extra):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        # Mount points runc would otherwise have to create in a read-only root file system.
        for d in ("bin", "dev", "etc", "proc", "sys", "tmp"):
            info = deterministic(tarfile.TarInfo(d))
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        for src, dest in [(busybox, "bin/busybox")] + extra:
            with open(src, "rb") as f:
                data = f.read()
            info = deterministic(tarfile.TarInfo(dest.lstrip("/")))
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
        for a in applets:
            info = deterministic(tarfile.TarInfo("bin/" + a))
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(info)
    return buf.getvalue()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("name")
    ap.add_argument("--busybox", required=True, help="a static busybox")
    ap.add_argument("--add", action="append", default=[], metavar="SRC:DEST")
    ap.add_argument("--applet", action="append", help="default: every applet of --busybox")
    # The Cmd follows "--" (argparse's REMAINDER would swallow the options before it).
    cmd = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:len(argv) - len(cmd) - (1 if "--" in argv else 0)])
    if not cmd:
        sys.exit("oci_image: the image needs a Cmd (a pod sandbox image must have one)")
    extra = [tuple(x.split(":", 1)) for x in a.add]
    applets = a.applet
    if not applets:
        listed = subprocess.run([a.busybox, "--list"], capture_output=True, text=True, check=True)
        applets = listed.stdout.split()
    taken = {"busybox"} | {os.path.basename(dest) for _, dest in extra}
    applets = sorted(set(applets) - taken)

    blobs = {}

    def blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return digest

    layer_tar = layer(a.busybox, applets, extra)
    layer_digest = blob(layer_tar)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        # Uncompressed layer: its diff_id is its own digest.
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }, sort_keys=True).encode()
    config_digest = blob(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": len(layer_tar)}],
    }, sort_keys=True).encode()
    manifest_digest = blob(manifest)
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": len(manifest),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": a.name,
                            "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[-1]},
        }],
    }, sort_keys=True).encode()

    with tarfile.open(a.out, "w", format=tarfile.PAX_FORMAT) as tar:
        def add(path, data):
            info = deterministic(tarfile.TarInfo(path))
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", index)
        for digest, data in sorted(blobs.items()):
            add("blobs/sha256/" + digest.split(":", 1)[1], data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
