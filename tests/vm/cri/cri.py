#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small CRI client for the VM tier: drives containerd the way a kubelet does.

    cri.py [--socket S] [--state-dir D] COMMAND ...

Stubs are generated from cri.proto next to this file with grpc_tools at run time (into
$OJH_CRI_STUBS when set, so one scenario generates them once), never committed.

The kubelet resends the pod's PodSandboxConfig with every CreateContainer, and containerd
takes the pod annotations it copies into the container's OCI spec (pod_annotations) from
that copy, not from what RunPodSandbox stored. run-pod therefore keeps the config in
--state-dir, and create sends it back, as a kubelet would.

Commands print one line (an id) or JSON; a failed CRI call prints "cri: METHOD: CODE:
DETAILS" on stderr and exits 3, so a caller can show containerd's own words (for a hook
that refused a container: runc's "error running hook" with the hook's line in it).
"""
import argparse
import json
import os
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOCKET = "unix:///run/containerd/containerd.sock"
DEFAULT_STATE = "/run/ojh-cri"


def load_stubs():
    out = os.environ.get("OJH_CRI_STUBS") or tempfile.mkdtemp(prefix="ojh-cri-")
    if not os.path.exists(os.path.join(out, "cri_pb2_grpc.py")):
        os.makedirs(out, exist_ok=True)
        # In-process: one python start less, which is seconds under TCG.
        from grpc_tools import protoc
        rc = protoc.main(["protoc", "-I" + HERE, "--python_out=" + out,
                          "--grpc_python_out=" + out, os.path.join(HERE, "cri.proto")])
        if rc != 0:
            sys.exit("cri: protoc failed on cri.proto")
    sys.path.insert(0, out)
    import cri_pb2
    import cri_pb2_grpc
    return cri_pb2, cri_pb2_grpc


class CallFailed(Exception):
    pass


class Client:
    def __init__(self, socket, timeout):
        import grpc
        self.grpc = grpc
        self.pb, pbg = load_stubs()
        channel = grpc.insecure_channel(socket)
        self.rt = pbg.RuntimeServiceStub(channel)
        self.img = pbg.ImageServiceStub(channel)
        self.timeout = timeout

    def call(self, service, method, request):
        try:
            return getattr(service, method)(request, timeout=self.timeout)
        except self.grpc.RpcError as e:
            raise CallFailed("%s: %s: %s" % (method, e.code().name, e.details()))


def kv(pairs):
    out = {}
    for p in pairs or []:
        k, sep, v = p.partition("=")
        if not sep:
            sys.exit("cri: expected KEY=VALUE, got %r" % p)
        out[k] = v
    return out


def state_path(args, pod_id):
    return os.path.join(args.state_dir, pod_id + ".json")


def save_pod(args, pod_id, config):
    from google.protobuf import json_format
    os.makedirs(args.state_dir, exist_ok=True)
    with open(state_path(args, pod_id), "w") as f:
        f.write(json_format.MessageToJson(config))


def load_pod(c, args, pod_id):
    from google.protobuf import json_format
    with open(state_path(args, pod_id)) as f:
        return json_format.Parse(f.read(), c.pb.PodSandboxConfig())


def run_pod(c, args):
    pb = c.pb
    uid = args.uid or str(uuid.uuid4())
    # kubelet's systemd cgroup driver: kubepods-<qos>-pod<uid with _>.slice, which containerd
    # turns into slice:cri-containerd:<id> for runc.
    parent = args.cgroup_parent
    if parent is None:
        parent = "kubepods-besteffort-pod%s.slice" % uid.replace("-", "_")
    log_dir = args.log_dir or "/var/log/pods/%s_%s_%s" % (args.namespace, args.name, uid)
    # The kubelet makes the pod's log directory; containerd only opens files in it.
    os.makedirs(log_dir, exist_ok=True)
    net = pb.NODE if args.host_network else pb.POD
    config = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=args.name, uid=uid, namespace=args.namespace),
        # Hostname must be empty only for host-network pods (then it is the node's).
        hostname="" if args.host_network else args.name,
        log_directory=log_dir,
        labels=kv(args.label),
        annotations=kv(args.annotation),
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=parent,
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=net, pid=pb.CONTAINER,
                                                     ipc=pb.POD))))
    resp = c.call(c.rt, "RunPodSandbox",
                  pb.RunPodSandboxRequest(config=config, runtime_handler=args.runtime_handler))
    save_pod(args, resp.pod_sandbox_id, config)
    return resp.pod_sandbox_id


def create(c, args, pod_id, name, annotations, labels):
    pb = c.pb
    sandbox = load_pod(c, args, pod_id)
    sc = pb.LinuxContainerSecurityContext(
        capabilities=pb.Capability(drop_capabilities=args.drop_cap or ["ALL"]),
        readonly_rootfs=True, no_new_privs=True)
    if args.user is not None:
        sc.run_as_user.value = args.user
    mounts = []
    for m in args.mount or []:
        host, sep, path = m.partition(":")
        if not sep:
            sys.exit("cri: expected HOST:CONTAINER, got %r" % m)
        mounts.append(pb.Mount(host_path=host, container_path=path))
    config = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name),
        image=pb.ImageSpec(image=args.image),
        command=args.command,
        mounts=mounts,
        labels=kv(labels),
        annotations=kv(annotations),
        log_path="%s/0.log" % name,
        linux=pb.LinuxContainerConfig(security_context=sc))
    resp = c.call(c.rt, "CreateContainer",
                  pb.CreateContainerRequest(pod_sandbox_id=pod_id, config=config,
                                            sandbox_config=sandbox))
    return resp.container_id


def status(c, cid, verbose=False):
    return c.call(c.rt, "ContainerStatus",
                  c.pb.ContainerStatusRequest(container_id=cid, verbose=verbose))


def read_log(path):
    """The messages of a CRI log file: 'TIME STREAM P|F MESSAGE' lines, P being a partial."""
    lines, partial = [], ""
    try:
        with open(path, errors="replace") as f:
            for raw in f:
                parts = raw.rstrip("\n").split(" ", 3)
                if len(parts) < 3:
                    continue
                msg = parts[3] if len(parts) == 4 else ""
                if parts[2] == "P":
                    partial += msg
                else:
                    lines.append(partial + msg)
                    partial = ""
    except FileNotFoundError:
        pass
    return lines


def wait(c, cid, marker, timeout):
    """Until a log line contains MARKER or the container exited; returns (found, status)."""
    deadline = time.monotonic() + timeout
    while True:
        st = status(c, cid).status
        if marker and any(marker in m for m in read_log(st.log_path)):
            return True, st
        if st.state == c.pb.CONTAINER_EXITED or time.monotonic() > deadline:
            # The exit may land just after the last lines: read once more.
            return bool(marker) and any(marker in m for m in read_log(st.log_path)), st
        time.sleep(0.5)


def spec_of(c, cid):
    """The OCI spec containerd handed to runc (ContainerStatus verbose: info.runtimeSpec)."""
    info = status(c, cid, verbose=True).info.get("info")
    return json.loads(info).get("runtimeSpec", {}) if info else {}


def up(c, args):
    """run-pod + create + start + wait, as one kubelet pod start; always prints JSON."""
    out = {"pod": None, "container": None, "failed": None, "error": None}
    try:
        out["pod"] = run_pod(c, args)
        out["failed"] = "CreateContainer"
        out["container"] = create(c, args, out["pod"], args.container_name,
                                  args.ctr_annotation, None)
        spec = spec_of(c, out["container"])
        out["hooks"] = spec.get("hooks", {})
        out["annotations"] = spec.get("annotations", {})
        out["cgroups_path"] = spec.get("linux", {}).get("cgroupsPath")
        out["capabilities"] = spec.get("process", {}).get("capabilities", {})
        out["failed"] = "StartContainer"
        c.call(c.rt, "StartContainer", c.pb.StartContainerRequest(container_id=out["container"]))
        out["failed"] = None
        found, st = wait(c, out["container"], args.marker, args.wait)
        out["marker_seen"] = found
        out["state"] = c.pb.ContainerState.Name(st.state)
        out["exit_code"] = st.exit_code
        out["log"] = read_log(st.log_path)
        ps = c.call(c.rt, "PodSandboxStatus",
                    c.pb.PodSandboxStatusRequest(pod_sandbox_id=out["pod"], verbose=True))
        out["pod_ip"] = ps.status.network.ip
        # containerd builds the sandbox container's spec apart from the app containers'.
        info = json.loads(ps.info["info"]) if "info" in ps.info else {}
        out["sandbox_hooks"] = info.get("runtimeSpec", {}).get("hooks", {})
    except CallFailed as e:
        out["error"] = str(e)
        if out["failed"] is None:
            out["failed"] = "RunPodSandbox" if out["pod"] is None else "status"
    print(json.dumps(out))
    return 0 if out["error"] is None else 3


def down(c, args):
    """The kubelet's order: stop and remove the containers, then stop and remove the pod."""
    pb = c.pb
    errors = []
    for cid in args.container or []:
        for method, req in (("StopContainer", pb.StopContainerRequest(container_id=cid, timeout=0)),
                            ("RemoveContainer", pb.RemoveContainerRequest(container_id=cid))):
            try:
                c.call(c.rt, method, req)
            except CallFailed as e:
                errors.append(str(e))
    for method, req in (("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=args.pod)),
                        ("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=args.pod))):
        try:
            c.call(c.rt, method, req)
        except CallFailed as e:
            errors.append(str(e))
    try:
        os.unlink(state_path(args, args.pod))
    except FileNotFoundError:
        pass
    for e in errors:
        print("cri: " + e, file=sys.stderr)
    return 3 if errors else 0


def cleanup(c, args):
    """Removes every pod carrying the labels: leftovers of an interrupted run."""
    pb = c.pb
    resp = c.call(c.rt, "ListPodSandbox", pb.ListPodSandboxRequest(
        filter=pb.PodSandboxFilter(label_selector=kv(args.label))))
    for item in resp.items:
        args.pod, args.container = item.id, []
        down(c, args)
        print(item.id)
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="cri.py", description=__doc__.split("\n")[0])
    ap.add_argument("--socket", default=DEFAULT_SOCKET)
    ap.add_argument("--state-dir", default=DEFAULT_STATE)
    # Container starts take ~10 s under TCG; a CRI call has to outlast one.
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per CRI call")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def pod_args(p):
        p.add_argument("--name", required=True)
        p.add_argument("--namespace", default="default")
        p.add_argument("--uid")
        p.add_argument("--annotation", action="append", metavar="K=V")
        p.add_argument("--label", action="append", metavar="K=V")
        p.add_argument("--host-network", action="store_true")
        p.add_argument("--cgroup-parent", help="default: kubelet's systemd slice for the uid")
        p.add_argument("--log-dir")
        p.add_argument("--runtime-handler", default="")

    def ctr_args(p, name_opt):
        p.add_argument(name_opt, required=True)
        p.add_argument("--image", required=True)
        p.add_argument("--ctr-annotation", action="append", metavar="K=V", dest="ctr_annotation")
        p.add_argument("--drop-cap", action="append", help="default: ALL")
        p.add_argument("--user", type=int, help="run_as_user (default: the image's)")
        # A kubelet's emptyDir is a bind mount of a node directory: the way a pod with a
        # read-only root file system gets a writable /tmp.
        p.add_argument("--mount", action="append", metavar="HOST:CONTAINER")
        p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")

    sub.add_parser("version")
    sub.add_parser("image-status").add_argument("image")
    pod_args(sub.add_parser("run-pod"))
    p = sub.add_parser("create")
    p.add_argument("--pod", required=True)
    p.add_argument("--label", action="append", metavar="K=V")
    ctr_args(p, "--name")
    for name in ("start", "rm", "logs", "inspect", "stop-pod", "rm-pod", "pod-status"):
        sub.add_parser(name).add_argument("id")
    p = sub.add_parser("stop")
    p.add_argument("id")
    p.add_argument("--grace", type=int, default=0, help="seconds before SIGKILL")
    p = sub.add_parser("wait")
    p.add_argument("id")
    p.add_argument("--marker")
    p.add_argument("--wait", type=float, default=120.0)
    p = sub.add_parser("up", help="run-pod, create, start and wait; prints JSON")
    pod_args(p)
    p.add_argument("--marker", help="log text that means the container has done its work")
    p.add_argument("--wait", type=float, default=120.0)
    ctr_args(p, "--container-name")
    p = sub.add_parser("down", help="stop and remove containers, then the pod")
    p.add_argument("pod")
    p.add_argument("--container", action="append")
    sub.add_parser("cleanup").add_argument("--label", action="append", required=True)
    args = ap.parse_args(argv)
    # The container's command travels in args.command: argparse's REMAINDER keeps the "--".
    if isinstance(getattr(args, "command", None), list) and args.command[:1] == ["--"]:
        args.command = args.command[1:]

    c = Client(args.socket, args.timeout)
    pb = c.pb
    try:
        if args.cmd == "version":
            r = c.call(c.rt, "Version", pb.VersionRequest(version="v1"))
            print(r.runtime_name, r.runtime_version, r.runtime_api_version)
        elif args.cmd == "image-status":
            r = c.call(c.img, "ImageStatus", pb.ImageStatusRequest(image=pb.ImageSpec(image=args.image)))
            if not r.image.id:
                print("cri: image %s: not known to the CRI" % args.image, file=sys.stderr)
                return 1
            print(r.image.id, " ".join(r.image.repo_tags))
        elif args.cmd == "run-pod":
            print(run_pod(c, args))
        elif args.cmd == "create":
            print(create(c, args, args.pod, args.name, args.ctr_annotation, args.label))
        elif args.cmd == "start":
            c.call(c.rt, "StartContainer", pb.StartContainerRequest(container_id=args.id))
        elif args.cmd == "stop":
            c.call(c.rt, "StopContainer", pb.StopContainerRequest(container_id=args.id, timeout=args.grace))
        elif args.cmd == "rm":
            c.call(c.rt, "RemoveContainer", pb.RemoveContainerRequest(container_id=args.id))
        elif args.cmd == "logs":
            print("\n".join(read_log(status(c, args.id).status.log_path)))
        elif args.cmd == "inspect":
            st = status(c, args.id, verbose=True)
            info = json.loads(st.info["info"]) if "info" in st.info else {}
            print(json.dumps({"state": pb.ContainerState.Name(st.status.state),
                              "exit_code": st.status.exit_code, "log_path": st.status.log_path,
                              "info": info}))
        elif args.cmd == "wait":
            found, st = wait(c, args.id, args.marker, args.wait)
            print(pb.ContainerState.Name(st.state), st.exit_code)
            return 0 if found or (not args.marker and st.state == pb.CONTAINER_EXITED) else 1
        elif args.cmd == "stop-pod":
            c.call(c.rt, "StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=args.id))
        elif args.cmd == "rm-pod":
            c.call(c.rt, "RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=args.id))
        elif args.cmd == "pod-status":
            st = c.call(c.rt, "PodSandboxStatus", pb.PodSandboxStatusRequest(pod_sandbox_id=args.id)).status
            print(json.dumps({"state": pb.PodSandboxState.Name(st.state), "ip": st.network.ip,
                              "annotations": dict(st.annotations)}))
        elif args.cmd == "up":
            return up(c, args)
        elif args.cmd == "down":
            return down(c, args)
        elif args.cmd == "cleanup":
            return cleanup(c, args)
    except CallFailed as e:
        print("cri: " + str(e), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
