"""kind's node image, assembled offline the way `kind build node-image` (buildImage()) does.

`kind build node-image` cannot run here: it fetches etcd, CoreDNS, pause and kindnetd with
`ctr content fetch`, and no registry is reachable. So, for CI only:

1. base: debootstrap bookworm with systemd, Debian's containerd, runc and CNI plugins, plus
   kind's own images/base/files and its Dockerfile's steps (kind v0.30.0: later kinds use
   trixie, whose systemd refuses cgroup v1, which these machines run);
2. node: the base with kubeadm, kubelet and kubectl (the host provider's Go builds),
   /kind/version, and every image kubeadm will ask for pre-imported into containerd under
   the names `kubeadm config images list` prints, then `docker commit`.

No kindnetd (its module is not served): a static ptp + host-local + portmap CNI config, for
clusters made with `networking.disableDefaultCNI: true` and podSubnet 10.244.0.0/16.
Each stage is cached by a hash of its inputs, kept in an image label.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.kind import componentimages, gobuild, paths, storage
from todo_deploy.base.debian import ensure_packages
from todo_deploy.base.engine import DockerCli, buildkit_cli
from todo_deploy.base.run import Runner
from todo_deploy.base.versions import KUBERNETES as KUBERNETES_VERSION
from todo_deploy.providers.host import build
from todo_deploy.providers.host.layout import Layout
from todo_deploy.steps.standins import RootfsMaker, file_digest, mirror, trim

NODE_IMAGE = f"local/kind-node:{KUBERNETES_VERSION}"  # what clusters are made from
# Each build is tagged with the hash of its inputs (NODE_IMAGE points at the current one), so
# two versions of the recipe on one machine, e.g. two branches, never rebuild each other's.
BASE_REPOSITORY = f"local/kind-base:bookworm-{gobuild.KIND.version}"
# kind's Dockerfile list, less network storage (nfs-common, open-iscsi), plus what it
# installs from release tarballs there and from Debian here.
NODE_PACKAGES = (
    "systemd",
    "conntrack",
    "iptables",
    "nftables",
    "iproute2",
    "ethtool",
    "util-linux",
    "mount",
    "kmod",
    "libseccomp2",
    "pigz",
    "fuse-overlayfs",
    "bash",
    "ca-certificates",
    "curl",
    "jq",
    "procps",
    "containerd",
    "runc",
    "containernetworking-plugins",
)
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/16"  # kind's default
NODE_POD_RANGE = "10.244.0.0/24"  # the only node's share of POD_SUBNET
KUBERNETES_BINARIES = ("kubeadm", "kubelet", "kubectl")
# What the node and its images are made of, of the host provider's Go builds.
NODE_COMPONENTS = ("kubernetes", "coredns", "pause")
# The Dockerfile's RUN steps that trim systemd to what a node runs.
UNWANTED_UNITS = (
    "lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
    "lib/systemd/system/multi-user.target.wants/*",
    "etc/systemd/system/*.wants/*",
    "lib/systemd/system/local-fs.target.wants/*",
    "lib/systemd/system/sockets.target.wants/*udev*",
    "lib/systemd/system/sockets.target.wants/*initctl*",
    "lib/systemd/system/basic.target.wants/*",
)
PTP_CONFLIST = {
    "cniVersion": "0.3.1",
    "name": "kind-ptp",
    "plugins": [
        {
            "type": "ptp",
            "ipMasq": False,  # pods talk to the cluster only: nothing leaves with a pod address
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": NODE_POD_RANGE}]],
                "routes": [{"dst": "0.0.0.0/0"}],
            },
            "mtu": 1500,
        },
        {"type": "portmap", "capabilities": {"portMappings": True}},
    ],
}
ENTRYPOINT = '["/usr/local/bin/entrypoint", "/sbin/init"]'
# With a static CNI config the node is Ready, and CoreDNS starts, before kube-proxy has
# translated the service range (kindnet delays readiness until it writes its config). A pod's
# first connection to the API's ClusterIP then leaves untranslated and hangs for about 30 s.
# Refusing what kube-proxy has not translated makes it fail at once and retry; it also keeps
# the service range inside the node.
SERVICE_GUARD_UNIT = f"""[Unit]
Description=Refuse packets for the service range that kube-proxy has not translated
Before=containerd.service kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/iptables -w -I FORWARD -d {SERVICE_SUBNET} -j REJECT
ExecStart=/usr/sbin/iptables -w -I FORWARD -d {SERVICE_SUBNET} -p tcp \\
  -j REJECT --reject-with tcp-reset

[Install]
WantedBy=multi-user.target
"""

# kind's entrypoint makes the kubelet's cgroups (`kubelet`, `kubelet.slice`) in every cgroup v1
# hierarchy mounted when the node starts. systemd then mounts the controllers the host left
# unmounted (some hosts mount no hugetlb hierarchy), and the kubelet refuses to start with
# "cgroup [kubelet] has some missing paths". Making them before each kubelet start, in whatever
# is mounted by then, holds on hosts with and without such a hierarchy.
KUBELET_CGROUPS_DROP_IN = r"""[Service]
ExecStartPre=/bin/sh -c 'test -f /sys/fs/cgroup/cgroup.controllers && exit 0; \
  for d in /sys/fs/cgroup/*/; do \
  test -L "$${d%%/}" || mkdir -p "$${d}kubelet" "$${d}kubelet.slice"; done'
"""
KUBELET_CGROUPS_PATH = "etc/systemd/system/kubelet.service.d/05-cgroup-v1-paths.conf"
# What the base is made of besides code: a change rebuilds it.
BASE_INPUTS = (
    NODE_PACKAGES,
    UNWANTED_UNITS,
    PTP_CONFLIST,
    ENTRYPOINT,
    SERVICE_GUARD_UNIT,
    KUBELET_CGROUPS_DROP_IN,
)


class NodeImageError(RuntimeError):
    pass


def kind_module(runner: Runner) -> Path:
    """The module zip's folder the kind binary was built from."""
    return build.module_dir(runner, gobuild.KIND.module, gobuild.KIND.version)


def kind_files(runner: Runner) -> Path:
    """kind's images/base/files."""
    return kind_module(runner) / "images" / "base" / "files"


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _recipe_digest(steps: tuple[Callable[..., object], ...], *parts: str) -> str:
    """A hash of the recipe's code (`steps`) and its inputs (`parts`)."""
    sources = [inspect.getsource(step) for step in steps]
    return hashlib.sha256("\n".join((*sources, *parts)).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------- base


def ensure_base(docker: DockerCli) -> str:
    """The node base image (systemd, containerd, kind's files); returns its ref."""
    files = kind_files(docker.runner)
    inputs = _recipe_digest(
        (_apply_kind_dockerfile, _node_settings),
        json.dumps(BASE_INPUTS),
        _tree_digest(files),
    )
    base_image = f"{BASE_REPOSITORY}-{inputs}"
    if docker.image_id(base_image):
        return base_image
    runner = docker.runner
    ensure_packages(runner, {"debootstrap": "debootstrap"})
    runner.printer(f"kind support: building {base_image} (debootstrap, cached afterwards) ...")
    started = time.monotonic()
    cache = paths.cache_dir() / "debs-cache"
    (cache / "debs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="todo-kind-base-", dir="/var/tmp") as tmp:
        maker = RootfsMaker(runner, Path(tmp), cache, mirror())
        root = maker.debootstrap("node", NODE_PACKAGES)
        _apply_kind_dockerfile(runner, root, files)
        _node_settings(runner, root)
        trim(root)
        tarball = Path(tmp) / "base.tar"
        runner.run(["tar", "--numeric-owner", "-C", root, "-cf", tarball, "."], step="pack base")
        imported = f"{base_image}-rootfs"
        docker.run(
            "import", "--change", "ENV container=docker", "--change", f"ENTRYPOINT {ENTRYPOINT}",
            tarball, imported, step=f"import {imported}",
        )  # fmt: skip
    # docker 20.10's import refuses STOPSIGNAL: systemd stops on SIGRTMIN+3, not SIGTERM.
    dockerfile = f"FROM {imported}\nSTOPSIGNAL SIGRTMIN+3\n"
    runner.run(
        [buildkit_cli(runner), "build", "--tag", base_image, "-"],
        step=f"build {base_image}",
        env={"DOCKER_BUILDKIT": "1"},
        stdin=dockerfile,
        timeout=600,
    )
    docker.run("rmi", imported, step=f"remove {imported}", check=False)
    seconds = time.monotonic() - started
    paths.record_cold("node base image", seconds)
    runner.printer(f"kind support: built {base_image} in {seconds:.0f} s (cold)")
    return base_image


def _apply_kind_dockerfile(runner: Runner, root: Path, files: Path) -> None:
    """kind's base Dockerfile: its static files (scripts 0755, the rest 0644), trimmed
    systemd, kubelet/containerd/undo-mount-hacks enabled, binfmt masked."""
    for source in sorted(files.rglob("*")):
        target = root / source.relative_to(files)
        if source.is_dir():
            target.mkdir(mode=0o755, parents=True, exist_ok=True)
            continue
        shutil.copyfile(source, target)
        executable = source.parent.name == "bin"  # usr/local/bin/* and kind/bin/*
        target.chmod(0o755 if executable else 0o644)
    for pattern in UNWANTED_UNITS:
        for unit in root.glob(pattern):
            unit.unlink()
    with (root / "etc/systemd/journald.conf").open("a") as journald:
        journald.write("ReadKMsg=no\n")
    init = root / "sbin/init"
    init.unlink(missing_ok=True)
    init.symlink_to("/lib/systemd/systemd")
    systemctl = ["systemctl", f"--root={root}"]
    units = ["kubelet.service", "containerd.service", "undo-mount-hacks.service"]
    runner.run([*systemctl, "enable", *units], step="enable node services")
    runner.run([*systemctl, "mask", "systemd-binfmt.service"], step="mask systemd-binfmt")
    (root / "etc/kubernetes/manifests").mkdir(parents=True, exist_ok=True)


def _node_settings(runner: Runner, root: Path) -> None:
    """Where Debian's packages differ from kind's release tarballs, and what this host needs."""
    # kind's units and scripts call containerd and the CNI plugins where its tarballs put them.
    (root / "usr/local/bin/containerd").symlink_to("/usr/bin/containerd")
    (root / "opt/cni").mkdir(parents=True, exist_ok=True)
    (root / "opt/cni/bin").symlink_to("/usr/lib/cni")
    spec = json.loads(
        runner.run(["chroot", root, "ctr", "oci", "spec"], step="ctr oci spec").stdout
    )
    spec.setdefault("hooks", {}).setdefault("createContainer", []).append(
        {"path": "/kind/bin/mount-product-files.sh"}
    )
    spec["process"].pop("rlimits", None)
    (root / "etc/containerd/cri-base.json").write_text(json.dumps(spec, indent=2) + "\n")
    config = root / "etc/containerd/config.toml"
    text = config.read_text()
    # Pods ask for negative OOM scores, which need CAP_SYS_RESOURCE this host lacks (see
    # runtime.py): containerd then clamps them instead of failing every sandbox.
    old = "restrict_oom_score_adj = false"
    if text.count(old) != 1:
        raise NodeImageError(f"kind's containerd config no longer has `{old}`: update the recipe")
    config.write_text(text.replace(old, "restrict_oom_score_adj = true"))
    (root / "etc/systemd/system/service-range-guard.service").write_text(SERVICE_GUARD_UNIT)
    runner.run(
        ["systemctl", f"--root={root}", "enable", "service-range-guard.service"],
        step="enable service-range-guard",
    )
    drop_in = root / KUBELET_CGROUPS_PATH
    drop_in.parent.mkdir(parents=True, exist_ok=True)
    drop_in.write_text(KUBELET_CGROUPS_DROP_IN)
    cni = root / "etc/cni/net.d"
    cni.mkdir(parents=True, exist_ok=True)
    (cni / "10-kind-ptp.conflist").write_text(json.dumps(PTP_CONFLIST, indent=2) + "\n")


# ---------------------------------------------------------------------------------- node


@paths.locked
def ensure_node_image(docker: DockerCli, layout: Layout | None = None) -> str:
    """`local/kind-node:<Kubernetes version>`, built when any input changed; returns its ref."""
    layout = layout or Layout.default()
    runner = docker.runner
    build.ensure_binaries(runner, layout, NODE_COMPONENTS)
    base = ensure_base(docker)
    storage_manifest, storage_images = storage.default_storage(kind_module(runner))
    images = (
        *componentimages.ensure_component_images(docker, layout, kind_files(runner)),
        *storage.ensure_storage_images(docker, storage_images),
    )
    files = {storage.MANIFEST_INSIDE: storage_manifest}
    # Where kind's own node image has them: kubeadm and friends in /usr/bin, crictl beside
    # containerd.
    binaries = {f"/usr/bin/{name}": layout.binary(name) for name in KUBERNETES_BINARIES}
    binaries["/usr/local/bin/crictl"] = gobuild.ensure_program(runner, gobuild.CRICTL)
    inputs = _recipe_digest(
        (_assemble,),
        docker.image_id(base) or "",
        *(f"{name}={file_digest(path)}" for name, path in binaries.items()),
        *(f"{ref}={docker.image_id(ref)}" for ref in images),
        *(f"{path}={text}" for path, text in files.items()),
    )
    node_image = f"{NODE_IMAGE}-{inputs}"
    if not docker.image_id(node_image):
        _build_node(docker, node_image, base, binaries, files, images)
    if docker.image_id(NODE_IMAGE) != docker.image_id(node_image):
        docker.run("tag", node_image, NODE_IMAGE, step=f"{NODE_IMAGE} is {node_image}")
    return NODE_IMAGE


def _build_node(
    docker: DockerCli,
    node_image: str,
    base: str,
    binaries: dict[str, Path],
    files: dict[str, str],
    images: tuple[str, ...],
) -> None:
    runner = docker.runner
    runner.printer(f"kind support: building {node_image} (cached afterwards) ...")
    inputs = node_image.rsplit("-", 1)[1]
    started = time.monotonic()
    container = f"todo-kind-node-build-{inputs}"
    docker.run("rm", "-f", container, step="remove an old build container", check=False)
    docker.run(
        "run", "-d", "--entrypoint=sleep", f"--name={container}",
        "--security-opt", "seccomp=unconfined", base, "infinity",
        step="start the node build container",
    )  # fmt: skip
    try:
        _assemble(docker, container, binaries, files, images)
        docker.run(
            "commit",
            "--change",
            f"ENTRYPOINT {ENTRYPOINT}",
            container,
            node_image,
            step=f"commit {node_image}",
            timeout=900,
        )
    finally:
        docker.run("rm", "-f", "-v", container, step="remove the build container", check=False)
    seconds = time.monotonic() - started
    paths.record_cold("node image", seconds)
    runner.printer(f"kind support: built {node_image} in {seconds:.0f} s (cold, base cached)")


def _assemble(
    docker: DockerCli,
    container: str,
    binaries: dict[str, Path],
    files: dict[str, str],
    images: tuple[str, ...],
) -> None:
    """`binaries` and `files` (path inside -> host file / text) in place, `images` imported."""
    runner = docker.runner
    for inside_path, path in binaries.items():
        docker.run("cp", path, f"{container}:{inside_path}", step=f"copy {path.name}")
    for inside_path, text in files.items():
        docker.run(
            "exec", "-i", container, "sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"',
            "write", inside_path, stdin=text, step=f"write {inside_path}",
        )  # fmt: skip

    def inside(*argv: str, step: str) -> str:
        return docker.run("exec", container, *argv, step=step, timeout=600).stdout

    inside("chown", "root:root", *binaries, step="own binaries")
    inside("sh", "-c", f"echo {KUBERNETES_VERSION} > /kind/version", step="/kind/version")
    wanted = set(
        inside(
            "kubeadm",
            "config",
            "images",
            "list",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            step="kubeadm config images list",
        ).split()
    )
    missing = wanted - set(images)
    if missing:
        raise NodeImageError(
            f"kubeadm {KUBERNETES_VERSION} wants images this recipe does not make: "
            f"{', '.join(sorted(missing))} (update componentimages.py)"
        )
    inside("sh", "-c", "nohup containerd >/dev/null 2>&1 &", step="start containerd")
    inside(
        "sh",
        "-c",
        "for i in $(seq 50); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1",
        step="wait for containerd",
    )
    for ref in images:
        # ctr 1.6 has no --label (so no pinned label) and reads the `docker save` stream.
        runner.run(
            [
                "sh",
                "-c",
                'docker save "$1" | docker exec -i "$2" ctr --namespace=k8s.io '
                "images import --all-platforms --no-unpack --digests -",
                "import",
                ref,
                container,
            ],
            step=f"import {ref} into the node",
            timeout=600,
        )
    listed = set(inside("ctr", "--namespace=k8s.io", "images", "list", "-q", step="list").split())
    absent = [ref for ref in images if containerd_name(ref) not in listed]
    if absent:
        raise NodeImageError(f"containerd in the node lacks {', '.join(absent)} after import")
    inside("pkill", "containerd", step="stop containerd")


def containerd_name(ref: str) -> str:
    """How containerd names an image docker calls `ref` (docker.io/library/ for short names)."""
    first = ref.split("/")[0]
    if "/" not in ref:
        return f"docker.io/library/{ref}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{ref}"
    return ref
