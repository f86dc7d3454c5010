"""Minikube with the docker driver: the default provider for users' laptops.

On macOS and Windows the docker driver's node IP cannot be reached from the host, so the suite
keeps `minikube tunnel` running in the background (pid and log in the state folder): it
publishes the ingress on 127.0.0.1:80/443. `down()` stops it.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from todo_deploy import paths
from todo_deploy.background import Background
from todo_deploy.config import DeployConfig
from todo_deploy.kube import Kube, wait_until
from todo_deploy.platforms import Platform
from todo_deploy.providers.base import ClusterFacts, ClusterStatus, IngressAccess
from todo_deploy.run import Runner

INGRESS_NS = "ingress-nginx"
CONTROLLER = "deployment/ingress-nginx-controller"
ADMISSION_SERVICE = "ingress-nginx-controller-admission"
# Where the docker driver's node is not routable from the host: the ingress needs a tunnel.
TUNNEL_OSES = ("darwin", "windows")
TUNNEL_PORT = 80
TUNNEL_WAIT_SECONDS = 60


class MinikubeProvider:
    dry_run_safe = True  # every change goes through the Runner
    name = "minikube"

    def __init__(
        self,
        config: DeployConfig,
        runner: Runner,
        kubectl: str = "kubectl",
        *,
        minikube: str = "minikube",
        platform: Platform | None = None,
        state_dir: Path | None = None,
    ):
        self.config = config
        self.runner = runner
        self.profile = config.minikube.profile
        self.minikube = minikube
        # minikube names the kubeconfig context after the profile
        self.kube_context = self.profile
        self.kube = Kube(runner, kubectl, self.kube_context, INGRESS_NS)
        self.platform = platform or Platform.current()
        self.tunnel = self._tunnel(state_dir) if self.platform.os in TUNNEL_OSES else None
        self.tunnel_port = TUNNEL_PORT

    def _tunnel(self, state_dir: Path | None) -> Background:
        return Background(
            f"minikube-tunnel-{self.profile}",
            # 127.0.0.1 only: the tunnel must not expose the app to the network.
            [self.minikube, "tunnel", "-p", self.profile, "--bind-address=127.0.0.1"],
            self.runner,
            self.platform,
            state_dir or paths.state_dir("minikube"),
        )

    def _minikube(self, *args: str) -> list[str]:
        return [self.minikube, *args, "-p", self.profile]

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
        if self.tunnel:
            self._start_tunnel(self.tunnel)
        return self.planned()

    def _start_tunnel(self, tunnel: Background) -> None:
        if tunnel.pid():
            if self._tunnel_serves():
                return  # kept from an earlier deploy
            tunnel.stop()  # left from a cluster that was stopped meanwhile: start afresh
        if self.platform.os == "darwin" and not self.runner.dry_run:
            # The tunnel runs `sudo ssh` for ports 80/443: ask for the password here, in the
            # foreground, so the background tunnel finds the credential cached.
            self.runner.printer("minikube tunnel opens ports 80/443 with sudo: your password")
            self.runner.run(["sudo", "-v"], step="sudo for minikube tunnel")
        if tunnel.start() is None:
            return  # dry run
        wait_until(
            lambda: self._tunnel_serves() or tunnel.pid() is None,
            timeout=TUNNEL_WAIT_SECONDS,
            interval=0.5,
        )
        if not self._tunnel_serves():
            state = "exited" if tunnel.pid() is None else "runs, but 127.0.0.1 does not answer"
            raise RuntimeError(
                f"minikube tunnel {state} (log {tunnel.log_file}):\n{tunnel.log_tail()}\n"
                f"run `minikube tunnel -p {self.profile}` in another terminal to see why"
            )

    def _tunnel_serves(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", self.tunnel_port)) == 0

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
        if self.tunnel and self.tunnel.stop():
            self.runner.printer(f"stopped minikube tunnel -p {self.profile}")
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
        if self.tunnel:
            return IngressAccess(f"http://127.0.0.1:{self.tunnel_port}", host, f"127.0.0.1 {host}")
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
        components = {k: "ok" if v == "Running" else v for k, v in parts.items()}
        if self.tunnel:
            pid = self.tunnel.pid()
            components["tunnel"] = f"ok (pid {pid})" if pid else "not running: `invoke deploy`"
        return ClusterStatus(self._running(status), components)
