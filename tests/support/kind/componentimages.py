"""The images kubeadm runs on a kind node, made locally under the names it asks for.

`kubeadm config images list` (the host-built kubeadm, run here) names them; each is the
host provider's Go build (or our etcd) in a FROM-scratch image with the binary on PATH, which
is how kubeadm's manifests call it. kube-proxy also needs iptables and conntrack, so its
image is a small debootstrap root. Each image carries a label with the hash of what went in,
and is rebuilt only when that changes.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.kind import gobuild, paths
from todo_deploy.base.engine import DockerCli
from todo_deploy.base.run import Runner
from todo_deploy.base.versions import KUBERNETES as KUBERNETES_VERSION
from todo_deploy.providers.host import build
from todo_deploy.providers.host.images import import_scratch_image
from todo_deploy.providers.host.layout import Layout
from todo_deploy.steps.standins import RootfsMaker, mirror, trim

INPUTS_LABEL = "todo.ci.inputs"
PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
KUBE_PROXY_PACKAGES = ("iptables", "conntrack")
# kind's containerd config names this sandbox image besides kubeadm's pause.
CONTAINERD_SANDBOX_IMAGE = re.compile(r'^\s*sandbox_image\s*=\s*"([^"]+)"', re.MULTILINE)


class ComponentImageError(RuntimeError):
    pass


def ensure_kubeadm(runner: Runner, layout: Layout) -> Path:
    """kubeadm, which the host cluster never runs but kind's node image needs: built from the
    host provider's Kubernetes source, about 20 s once its other commands are built."""
    out = layout.binary("kubeadm")
    if not out.exists():
        layout.bin.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        build.build_kubernetes_commands(runner, layout, ("kubeadm",))
        build.record_seconds(layout, "kubeadm", time.monotonic() - started)
    return out


def kubeadm_images(runner: Runner, kubeadm: Path) -> list[str]:
    result = runner.run(
        [kubeadm, "config", "images", "list", "--kubernetes-version", KUBERNETES_VERSION],
        step="kubeadm config images list",
        mutating=False,
    )
    return result.stdout.split()


def sandbox_image(containerd_config: str) -> str:
    match = CONTAINERD_SANDBOX_IMAGE.search(containerd_config)
    if not match:
        raise ComponentImageError("kind's containerd config names no sandbox_image")
    return match.group(1)


def ensure_component_images(docker: DockerCli, layout: Layout, kind_files: Path) -> tuple[str, ...]:
    """Make (or find) every image the node needs; returns their refs."""
    runner = docker.runner
    kubeadm = ensure_kubeadm(runner, layout)
    containerd_config = (kind_files / "etc/containerd/config.toml").read_text()
    wanted = [*kubeadm_images(runner, kubeadm), sandbox_image(containerd_config)]
    etcd = gobuild.ensure_program(runner, gobuild.ETCD)
    makers = _makers(docker, layout, etcd)
    for ref in wanted:
        name = ref.rsplit("/", 1)[-1].split(":")[0]
        if name not in makers:
            raise ComponentImageError(
                f"kubeadm {KUBERNETES_VERSION} wants {ref}, which this recipe cannot make: "
                "add it to tests/support/kind/componentimages.py"
            )
        makers[name](ref)
    return tuple(dict.fromkeys(wanted))


def scratch_maker(
    docker: DockerCli, binary: Path, inside: str, entrypoint: list[str] | None = None
) -> Callable[[str], None]:
    """Makes image `ref`: `binary` at `inside` in a FROM-scratch image, with PATH set."""

    def make(ref: str) -> None:
        def build_image(label: str) -> None:
            files, command = {inside: binary}, entrypoint or [inside]
            import_scratch_image(docker.runner, ref, files, command, changes=(PATH_ENV, label))

        ensure_labelled(docker, ref, [binary], build_image)

    return make


def _makers(docker: DockerCli, layout: Layout, etcd: Path) -> dict[str, Callable[[str], None]]:
    def on_path(binary: Path) -> Callable[[str], None]:
        return scratch_maker(docker, binary, f"/usr/local/bin/{binary.name}")

    def kube_proxy(ref: str) -> None:
        binary = layout.binary("kube-proxy")
        ensure_labelled(
            docker, ref, [binary], lambda label: _import_kube_proxy(docker, ref, binary, label)
        )

    makers = {name: on_path(layout.binary(name)) for name in CONTROL_PLANE}
    makers.update(
        etcd=on_path(etcd),
        coredns=on_path(layout.binary("coredns")),
        pause=on_path(layout.binary("pause")),
        **{"kube-proxy": kube_proxy},
    )
    return makers


def ensure_labelled(
    docker: DockerCli, ref: str, inputs: list[Path], make: Callable[[str], None]
) -> None:
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    for path in inputs:
        digest.update(path.read_bytes())
    wanted = digest.hexdigest()[:16]
    if docker.inspect(ref, f'{{{{index .Config.Labels "{INPUTS_LABEL}"}}}}') == wanted:
        return
    started = time.monotonic()
    make(f"LABEL {INPUTS_LABEL}={wanted}")
    paths.record_cold(f"image {ref}", time.monotonic() - started)


def _import_kube_proxy(docker: DockerCli, ref: str, binary: Path, label: str) -> None:
    runner = docker.runner
    cache = paths.cache_dir() / "debs-cache"
    (cache / "debs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="todo-kind-proxy-", dir="/var/tmp") as tmp:
        root = RootfsMaker(runner, Path(tmp), cache, mirror()).debootstrap(
            "kube-proxy", KUBE_PROXY_PACKAGES
        )
        trim(root)
        target = root / "usr/local/bin/kube-proxy"
        target.write_bytes(binary.read_bytes())
        target.chmod(0o755)
        tarball = Path(tmp) / "kube-proxy.tar"
        runner.run(["tar", "--numeric-owner", "-C", root, "-cf", tarball, "."], step="pack")
        entrypoint = '["/usr/local/bin/kube-proxy"]'
        docker.run(
            "import", "--change", PATH_ENV, "--change", label,
            "--change", f"ENTRYPOINT {entrypoint}", tarball, ref, step=f"import {ref}",
        )  # fmt: skip
