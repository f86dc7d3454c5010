"""The current kubeconfig context as it is (kind, k3d, Docker Desktop, minikube, remote).

Images are built on the host's Docker engine, then loaded with the tool that matches the
context's name, or pushed to `--registry` when the cluster cannot see the host's images.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from todo_deploy.base.clusters import DISTRIBUTIONS, distribution_of, listed
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.kube import Kube
from todo_deploy.base.run import Result, Runner
from todo_deploy.base.tools import Tools
from todo_deploy.providers import ingress_peers, traefik
from todo_deploy.providers.base import ClusterFacts, ClusterStatus, IngressAccess

DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
FALLBACK_CLASS = "nginx"  # when the cluster lists no IngressClass


class ExistingProvider:
    dry_run_safe = True  # every change goes through the Runner
    name = "existing"

    def __init__(
        self,
        config: DeployConfig,
        runner: Runner,
        kubectl: str = "kubectl",
        which: Callable[[str], str | None] = shutil.which,
    ):
        self.config = config
        self.which = which
        self.runner = runner
        self.kube = Kube(runner, kubectl, config.kube_context, config.namespace)
        self.kube_context = config.kube_context or self._current_context()
        self.kube.context = self.kube_context

    @classmethod
    def create(cls, config: DeployConfig, runner: Runner, tools: Tools) -> ExistingProvider:
        return cls(config, runner, tools.kubectl)

    def _current_context(self) -> str:
        result = self.kube.run(
            "config",
            "current-context",
            step="kube context",
            namespaced=False,
            check=False,
            mutating=False,
        )
        return result.stdout.strip()

    def preflight(self) -> list[str]:
        if not self.kube_context:
            return [
                "no current kubeconfig context: run `kubectl config use-context NAME` "
                "or pass --kube-context NAME"
            ]
        loader = self.loader()
        if loader is None:
            loadable = listed(d.name for d in DISTRIBUTIONS if d.load is not None)
            return [
                f"cannot put images into context {self.kube_context!r} (not {loadable}): "
                "pass --registry HOST/PATH that the cluster can pull from"
            ]
        if loader and not self.which(loader[0]):
            return [f"{loader[0]} is needed to load images into {self.kube_context}: install it"]
        return []

    def loader(self) -> list[str] | None:
        """argv prefix that loads a host image into this cluster; [] when nothing is needed."""
        if self.config.registry:
            return ["docker", "push"]
        found = distribution_of(self.kube_context)
        if found is None or found.load is None:
            return None
        return found.load_command(self.kube_context)

    def planned(self) -> ClusterFacts:
        return ClusterFacts(ingress_class=FALLBACK_CLASS)

    def _readyz(self, step: str) -> Result:
        """The API server's readiness endpoint: answered only by a reachable, ready cluster."""
        readyz = ("get", "--raw", "/readyz")
        return self.kube.run(*readyz, step=step, namespaced=False, check=False, mutating=False)

    def up(self) -> ClusterFacts:
        result = self._readyz("cluster reachable")
        if not result.ok:
            reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
            raise RuntimeError(
                f"the cluster of context {self.kube_context!r} is not reachable ({reason}): "
                "start it, or choose another with --kube-context NAME "
                "(`kubectl config get-contexts` lists them)"
            )
        classes = self.kube.get_json("ingressclass", step="ingress classes", namespaced=False)
        found = default_ingress_class(classes)
        if found:
            peers = ingress_peers.find(self.kube, classes, found)
            return ClusterFacts(
                found,
                notes=() if peers is not None else (ingress_peers.unknown_note(found),),
                traefik_middleware=traefik.serves_middlewares(self.kube, found),
                ingress_peers=peers,
            )
        return ClusterFacts(FALLBACK_CLASS, notes=(self._no_ingress_note(),), has_ingress=False)

    def _no_ingress_note(self) -> str:
        return (
            f"context {self.kube_context} has no ingress controller (no IngressClass), so "
            "nothing serves the app's Ingress: open it with `invoke port-forward -c frontend` "
            "(it prints the 127.0.0.1 URL), or install a controller (ingress-nginx, Traefik); "
            "with kind, `--provider kind` makes a cluster with Traefik and ports 80/443"
        )

    def down(self, delete: bool = False) -> None:
        # We did not create this cluster, so we never stop or delete it.
        self.runner.printer(
            f"context {self.kube_context}: not stopping a cluster we did not create"
        )

    def docker_env(self) -> dict[str, str]:
        return {}

    def load_images(self, refs: list[str]) -> None:
        loader = self.loader()
        if loader is None:
            raise RuntimeError(self.preflight()[0])
        if self.config.registry:
            push_to_registry(self.runner, self.config.registry, refs)
            return
        for ref in refs if loader else []:
            self.runner.run([*loader, ref], step=f"load image {ref}", timeout=600)

    def ingress(self, host: str) -> IngressAccess:
        # kind/k3d/Docker Desktop publish the ingress controller on the host's port 80.
        return IngressAccess("http://127.0.0.1", host, f"127.0.0.1 {host}")

    def status(self) -> ClusterStatus:
        result = self._readyz("cluster status")
        return ClusterStatus(result.ok, {"apiserver": "ok" if result.ok else result.stderr.strip()})


def default_ingress_class(classes: dict | None) -> str | None:
    """The IngressClass marked default, else the first one; None when the cluster has none."""
    items = (classes or {}).get("items", [])
    for item in items:
        if item["metadata"].get("annotations", {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
            return item["metadata"]["name"]
    return items[0]["metadata"]["name"] if items else None


def push_to_registry(runner: Runner, registry: str, refs: list[str]) -> None:
    """Tag each host image under `registry` and push it there, for the nodes to pull."""
    for ref in refs:
        remote = f"{registry.rstrip('/')}/{ref}"
        runner.run(["docker", "tag", ref, remote], step=f"tag {ref}")
        runner.run(["docker", "push", remote], step=f"load image {remote}", timeout=600)
