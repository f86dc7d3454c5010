"""Minikube with the docker driver: the default provider for users' laptops."""

from __future__ import annotations

import json
import platform
from typing import Any

from todo_deploy.config import DeployConfig
from todo_deploy.kube import Kube, wait_until
from todo_deploy.providers.base import ClusterFacts, ClusterStatus, IngressAccess
from todo_deploy.run import Runner

INGRESS_NS = "ingress-nginx"
CONTROLLER = "deployment/ingress-nginx-controller"
ADMISSION_SERVICE = "ingress-nginx-controller-admission"


class MinikubeProvider:
    dry_run_safe = True  # every change goes through the Runner
    name = "minikube"

    def __init__(self, config: DeployConfig, runner: Runner, kubectl: str = "kubectl"):
        self.config = config
        self.runner = runner
        self.profile = config.minikube.profile
        # minikube names the kubeconfig context after the profile
        self.kube_context = self.profile
        self.kube = Kube(runner, kubectl, self.kube_context, INGRESS_NS)

    def _minikube(self, *args: str) -> list[str]:
        return ["minikube", *args, "-p", self.profile]

    def _status(self) -> dict[str, Any]:
        result = self.runner.run(
            self._minikube("status", "-o", "json"),
            step="minikube status",
            check=False,
            mutating=False,
        )
        try:
            return json.loads(result.stdout) if result.stdout.strip() else {}
        except json.JSONDecodeError:
            return {}  # "profile not found" is printed as plain text

    def _running(self, status: dict[str, Any]) -> bool:
        return all(status.get(k) == "Running" for k in ("Host", "Kubelet", "APIServer"))

    def preflight(self) -> list[str]:
        return []

    def planned(self) -> ClusterFacts:
        return ClusterFacts(ingress_class="nginx")  # the ingress addon's ingress-nginx

    def up(self) -> ClusterFacts:
        if not self._running(self._status()):
            cfg = self.config.minikube
            # Calico: Minikube's default bridge CNI ignores NetworkPolicy, so the chart's
            # policies (MCP and PostgreSQL reachable from the app only) would be decoration.
            start = ["start", "--driver=docker", "--cni=calico"]
            self.runner.run(
                self._minikube(*start, f"--memory={cfg.memory_mb}", f"--cpus={cfg.cpus}"),
                step="minikube start",
                timeout=self.config.timeouts.deploy,
            )
        self.runner.run(self._minikube("addons", "enable", "ingress"), step="ingress addon")
        # An Ingress applied before the controller and its admission webhook serve is rejected.
        self.kube.rollout_status(CONTROLLER, self.config.timeouts.rollout)
        self._wait_for_webhook()
        return self.planned()

    def _wait_for_webhook(self) -> None:
        if self.runner.dry_run:
            self.runner.printer(f"[dry-run] wait for endpoints of {INGRESS_NS}/{ADMISSION_SERVICE}")
            return

        def ready() -> bool:
            endpoints = self.kube.get_json("endpoints", ADMISSION_SERVICE, step="webhook") or {}
            return any(s.get("addresses") for s in endpoints.get("subsets") or [])

        if not wait_until(ready, timeout=self.config.timeouts.rollout):
            raise RuntimeError(
                f"the ingress admission webhook ({INGRESS_NS}/{ADMISSION_SERVICE}) has no ready "
                "endpoint: run `invoke doctor`, or disable and re-enable the ingress addon"
            )

    def down(self, delete: bool = False) -> None:
        if delete:
            self.runner.run(self._minikube("delete"), step="minikube delete")
        elif self._status().get("Host") == "Running":
            self.runner.run(self._minikube("stop"), step="minikube stop")

    def docker_env(self) -> dict[str, str]:
        result = self.runner.run(
            self._minikube("docker-env", "-o", "json"),
            step="minikube docker-env",
            check=not self.runner.dry_run,
            mutating=False,
        )
        if not result.ok or not result.stdout.strip():
            return {}  # dry run before the cluster exists
        return {k: str(v) for k, v in json.loads(result.stdout).items()}

    def load_images(self, refs: list[str]) -> None:
        """Nothing to do: images are built inside minikube's own Docker engine."""

    def ingress(self, host: str) -> IngressAccess:
        if platform.system() != "Linux":
            # The docker driver's node IP is not routable from macOS/Windows: `minikube tunnel`.
            return IngressAccess("http://127.0.0.1", host, f"127.0.0.1 {host}")
        result = self.runner.run(
            self._minikube("ip"),
            step="minikube ip",
            check=not self.runner.dry_run,
            mutating=False,
        )
        ip = result.stdout.strip() or "MINIKUBE_IP"
        return IngressAccess(f"http://{ip}", host, f"{ip} {host}")

    def status(self) -> ClusterStatus:
        status = self._status()
        parts = {k: status.get(k, "absent") for k in ("Host", "Kubelet", "APIServer")}
        return ClusterStatus(
            self._running(status), {k: "ok" if v == "Running" else v for k, v in parts.items()}
        )
