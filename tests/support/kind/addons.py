"""Images of in-cluster add-ons for CI's kind cluster, from the host provider's Go builds, and
NetworkPolicy enforcement for a cluster without kindnet.

- Traefik under its upstream name `traefik:<version>`, which the kind provider references: on
  a machine with registry access that is the official image; here the same version, built.
- kube-network-policies under its upstream name, run as upstream's own DaemonSet manifest
  (install.yaml from the module zip), only the image and one flag changed. The host
  provider's patched binary serves: its NFQUEUE patch is about this kernel (shared by the
  kind node), and its $KUBECONFIG patch falls back to the in-cluster config when unset.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from tests.support.kind import gobuild, paths
from tests.support.kind.componentimages import scratch_maker
from todo_deploy.base.engine import DockerCli
from todo_deploy.base.run import Runner
from todo_deploy.providers.host import build
from todo_deploy.providers.host.layout import (
    KUBE_NETWORK_POLICIES_VERSION,
    TRAEFIK_VERSION,
    Layout,
)

TRAEFIK_IMAGE = f"traefik:{TRAEFIK_VERSION}"
NETWORK_POLICIES_IMAGE = (
    f"registry.k8s.io/networking/kube-network-policies:{KUBE_NETWORK_POLICIES_VERSION}"
)
NETWORK_POLICIES_MODULE = "sigs.k8s.io/kube-network-policies"
NETWORK_POLICIES_DAEMONSET = "kube-network-policies"
ROLLOUT_TIMEOUT = "120s"


@paths.locked
def ensure_addon_images(docker: DockerCli, layout: Layout | None = None) -> tuple[str, ...]:
    """Traefik and kube-network-policies images (built once; the binaries are cached)."""
    layout = layout or Layout.default()
    runner = docker.runner
    build.ensure_binaries(runner, layout, ("traefik", build.NETWORK_POLICY_BINARY))
    wanted = {
        # The official image's entrypoint takes flags first, as this one does.
        TRAEFIK_IMAGE: ("/usr/local/bin/traefik", layout.binary("traefik")),
        # Upstream's image keeps the binary at /bin/netpol; its manifest calls it there.
        NETWORK_POLICIES_IMAGE: ("/bin/netpol", layout.binary("kube-network-policies")),
    }
    for ref, (inside, binary) in wanted.items():
        scratch_maker(docker, binary, inside)(ref)
    return tuple(wanted)


def network_policies_manifest(runner: Runner) -> list[dict]:
    """Upstream's install.yaml with our image (loaded into the node, never pulled)."""
    source = build.module_dir(runner, NETWORK_POLICIES_MODULE, KUBE_NETWORK_POLICIES_VERSION)
    documents = [d for d in yaml.safe_load_all((source / "install.yaml").read_text()) if d]
    daemonsets = [d for d in documents if d["kind"] == "DaemonSet"]
    if len(daemonsets) != 1:
        raise ValueError(f"{NETWORK_POLICIES_MODULE} install.yaml: expected one DaemonSet")
    container = daemonsets[0]["spec"]["template"]["spec"]["containers"][0]
    container["image"] = NETWORK_POLICIES_IMAGE
    container["imagePullPolicy"] = "Never"
    # NRI is a containerd 2 plugin API; Debian's containerd 1.6 in our node has none.
    container["args"] = [*container["args"], "--disable-nri=true"]
    return documents


def install_network_policies(
    runner: Runner,
    *,
    cluster_name: str,
    context: str,
    kubectl: Path | str = "kubectl",
    kubeconfig: Path | None = None,
) -> float:
    """Enforce NetworkPolicies in kind cluster `cluster_name` (kubeconfig `context`); returns
    the seconds it took. Idempotent."""
    started = time.monotonic()
    docker = DockerCli(runner)
    ensure_addon_images(docker)
    kind = gobuild.ensure_program(runner, gobuild.KIND)
    env = {"KUBECONFIG": str(kubeconfig)} if kubeconfig else {}
    runner.run(
        [kind, "load", "docker-image", NETWORK_POLICIES_IMAGE, "--name", cluster_name],
        step="kind load kube-network-policies",
        env=env,
        timeout=300,
    )
    base = [str(kubectl), "--context", context]
    if kubeconfig:
        base += ["--kubeconfig", str(kubeconfig)]
    manifest = yaml.safe_dump_all(network_policies_manifest(runner))
    runner.run([*base, "apply", "-f", "-"], step="apply kube-network-policies", stdin=manifest)
    runner.run(
        [*base, "-n", "kube-system", "rollout", "status", f"daemonset/{NETWORK_POLICIES_DAEMONSET}",
         f"--timeout={ROLLOUT_TIMEOUT}"],
        step="kube-network-policies ready", timeout=180,
    )  # fmt: skip
    return time.monotonic() - started
