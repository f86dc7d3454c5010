"""Minikube with the docker driver: the default provider for users' laptops.

`minikube start --driver=docker --cni=<minikube.cni>`, then the ingress: the ingress addon
(ingress-nginx, class `nginx`), or with `minikube.ingress: traefik` the suite's in-cluster
Traefik, as the kind provider installs it. As root Minikube refuses the docker driver unless
`minikube.force` passes it `--force`.

On macOS and Windows the docker driver's node IP cannot be reached from the host, so the suite
keeps `minikube tunnel` running in the background (pid and log in the state folder): it
publishes the ingress on 127.0.0.1:80/443. `down()` stops it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from todo_deploy.base import paths
from todo_deploy.base.background import Background
from todo_deploy.base.config import DeployConfig, MinikubeSettings
from todo_deploy.base.kube import Kube, wait_until
from todo_deploy.base.platforms import Platform
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.providers import traefik
from todo_deploy.providers.base import ClusterFacts, ClusterStatus, IngressAccess

INGRESS_NS = "ingress-nginx"
CONTROLLER = "deployment/ingress-nginx-controller"
ADMISSION_SERVICE = "ingress-nginx-controller-admission"
# Where the docker driver's node is not routable from the host: the ingress needs a tunnel.
TUNNEL_OSES = ("darwin", "windows")
TUNNEL_PORT = 80
TUNNEL_WAIT_SECONDS = 60
# `export K="V"` (a shell's script) or `K=V` (`--shell none` without `-o json`).
ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")

# Minikube's own --cni values by NetworkPolicy enforcement (anything else is a manifest's path).
# auto: bridge on one node with the docker runtime. kindnet: Minikube's docs say it ignores
# NetworkPolicy, its manifest (since v1.34) grants it policy access: not known either way.
ENFORCING_CNIS = ("calico", "cilium")
IGNORING_CNIS = ("bridge", "false", "auto", "flannel")
UNKNOWN_CNIS = ("kindnet", "true")  # true: kindnet
Enforcement = Literal["yes", "no", "unknown"]


def enforcement(cni: str) -> Enforcement:
    """Whether Minikube's CNI `cni` enforces NetworkPolicy by itself."""
    if cni in ENFORCING_CNIS:
        return "yes"
    return "no" if cni in IGNORING_CNIS else "unknown"


def _enforcers() -> str:
    return " or ".join(ENFORCING_CNIS)


def policy_note(settings: MinikubeSettings) -> str | None:
    """The deploy report's warning when the configured CNI may leave NetworkPolicy unenforced."""
    state = enforcement(settings.cni)
    if state == "yes":
        return None
    verdict = "does not enforce" if state == "no" else "may not enforce"
    return (
        f"warning: Minikube's CNI {settings.cni} (deploy.minikube.cni) {verdict} NetworkPolicy: "
        "the chart's policies (MCP and PostgreSQL for the app's pods only) hold only if "
        "something else enforces them; `invoke isolation` proves whether they do. For the CNI "
        f"to enforce them: set deploy.minikube.cni to {_enforcers()}, then "
        f"`minikube delete -p {settings.profile}` and `invoke deploy`"
    )


def isolation_hint(settings: MinikubeSettings) -> str:
    """Why a minikube cluster let a pod outside the app through, and the fix."""
    state, cni, profile = enforcement(settings.cni), settings.cni, settings.profile
    recreate = f"`minikube delete -p {profile}`, then `invoke deploy`"
    if state == "yes":
        # `minikube start` on an existing profile leaves the CNI it was created with running.
        return (
            f"minikube: deploy.minikube.cni is {cni}, which enforces NetworkPolicy, but the "
            f"cluster may have been created with another CNI: {recreate}"
        )
    verdict = "does not enforce" if state == "no" else "may not enforce"
    return (
        f"minikube: its CNI {cni} (deploy.minikube.cni) {verdict} NetworkPolicy. Fix: set "
        f"deploy.minikube.cni to {_enforcers()}, then {recreate}; or install a NetworkPolicy "
        "enforcer (e.g. kube-network-policies) in the cluster"
    )


def parse_docker_env(output: str, command: str) -> dict[str, str]:
    """`docker-env`'s variables from its JSON object or, failing that, its shell lines."""
    found = _env_from_json(output)
    if found is None:
        found = _env_from_lines(output)
    if "DOCKER_HOST" not in found:
        # Building on the host's engine instead would leave images the node never sees.
        raise RuntimeError(
            f"could not read Minikube's Docker environment: `{command}` printed neither a JSON "
            "object nor KEY=VALUE lines with DOCKER_HOST; it printed:\n"
            f"{output.strip() or '(nothing)'}"
        )
    return found


def _env_from_json(output: str) -> dict[str, str] | None:
    try:
        data = json.loads(output)
    except json.JSONDecodeError:
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def _env_from_lines(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        match = ENV_LINE.match(line.strip())  # comments (the usage hint) and blanks do not
        if match:
            found[match[1]] = _unquote(match[2].strip())
    return found


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def current_euid() -> int | None:
    """This process's effective user id; None where there is none (Windows)."""
    return os.geteuid() if hasattr(os, "geteuid") else None


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
        euid: Callable[[], int | None] | None = None,
    ):
        self.config = config
        self.settings = config.minikube
        self.runner = runner
        self.profile = config.minikube.profile
        # Looked up here, not bound as a default: a test may replace current_euid.
        self.euid = euid or current_euid
        self.minikube = minikube
        # minikube names the kubeconfig context after the profile
        self.kube_context = self.profile
        self.kube = Kube(runner, kubectl, self.kube_context, INGRESS_NS)
        self.platform = platform or Platform.current()
        self.tunnel = self._tunnel(state_dir) if self.platform.os in TUNNEL_OSES else None
        self.tunnel_port = TUNNEL_PORT

    @classmethod
    def create(cls, config: DeployConfig, runner: Runner, tools: Tools) -> MinikubeProvider:
        return cls(config, runner, tools.kubectl, minikube=tools.minikube)

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
        return [p for p in (self._root_problem(), self._cni_problem()) if p]

    def _root_problem(self) -> str | None:
        # Minikube would refuse only once `minikube start` runs, after preflight said all is well.
        if self.euid() != 0 or self.settings.force:
            return None
        return (
            "this runs as root, and Minikube refuses its docker driver as root (DRV_AS_ROOT): "
            "run it as a normal user in the `docker` group (`sudo usermod -aG docker USER`, "
            "then log in again), or pass --force to minikube start with "
            "deploy.minikube.force: true (INVOKE_DEPLOY_MINIKUBE_FORCE=true)"
        )

    def _cni_problem(self) -> str | None:
        cni = self.settings.cni  # a name of Minikube's, or else a manifest's path
        if enforcement(cni) != "unknown" or cni in UNKNOWN_CNIS or Path(cni).is_file():
            return None
        names = ", ".join((*ENFORCING_CNIS, *IGNORING_CNIS, "kindnet"))
        return (
            f"deploy.minikube.cni {cni!r} is neither one of Minikube's CNIs ({names}) nor a CNI "
            "manifest file: fix deploy.minikube.cni"
        )

    def planned(self) -> ClusterFacts:
        note = policy_note(self.settings)
        # The addon's ingress-nginx runs in the namespace the chart's default peers name.
        peers = traefik.PEERS if self.settings.ingress == "traefik" else None
        return ClusterFacts(
            ingress_class=self._ingress_class(), notes=(note,) if note else (), ingress_peers=peers
        )

    def _ingress_class(self) -> str:
        if self.settings.ingress == "traefik":
            return traefik.INGRESS_CLASS
        return "nginx"  # the ingress addon's ingress-nginx

    def up(self) -> ClusterFacts:
        if not self._running(self._status()):
            self.runner.run(
                self._minikube(*self._start_args()),
                step="minikube start",
                timeout=self.config.timeouts.deploy,
            )
        if self.settings.ingress == "traefik":
            self._install_traefik()
        else:
            self._enable_ingress_addon()
        if self.tunnel:
            self._start_tunnel(self.tunnel)
        return self.planned()

    def _start_args(self) -> list[str]:
        cfg = self.settings
        args = ["start", "--driver=docker", f"--cni={cfg.cni}"]
        args += [f"--memory={cfg.memory_mb}", f"--cpus={cfg.cpus}"]
        # Only when asked for: --force also skips Minikube's other validations.
        return [*args, "--force"] if cfg.force else args

    def _enable_ingress_addon(self) -> None:
        self.runner.run(self._minikube("addons", "enable", "ingress"), step="ingress addon")
        # An Ingress applied before the controller and its admission webhook serve is rejected.
        self.kube.rollout_status(CONTROLLER, self.config.timeouts.rollout)
        self._wait_for_webhook()

    def _install_traefik(self) -> None:
        # The addon's controller holds the node's ports 80/443 (hostPort) that Traefik needs.
        if self.kube.get_json(CONTROLLER, step="ingress addon"):
            raise RuntimeError(
                f"deploy.minikube.ingress is traefik, but the ingress addon of minikube profile "
                f"{self.profile} runs ingress-nginx on the node's ports 80/443: run `minikube "
                f"addons disable ingress -p {self.profile}`, or set deploy.minikube.ingress: addon"
            )
        self._label_ingress_node()
        traefik.install(self.kube, self.config.timeouts.rollout)

    def _label_ingress_node(self) -> None:
        """Traefik runs on the node labelled ingress-ready=true: Minikube's first node."""
        node = self.kube.get_json("node", self.profile, step="minikube node", namespaced=False)
        labels = (node or {}).get("metadata", {}).get("labels", {})
        if labels.get("ingress-ready") != "true":
            self.kube.run(
                "label", "node", self.profile, "ingress-ready=true", "--overwrite",
                step="label the ingress node", namespaced=False,
            )  # fmt: skip

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
        # JSON needs `--shell none`: with a shell (detected when not given) Minikube prints that
        # shell's script and ignores `-o json`.
        argv = self._minikube("docker-env", "--shell", "none", "-o", "json")
        result = self.runner.run(
            argv, step="minikube docker-env", check=not self.runner.dry_run, mutating=False
        )
        if self.runner.dry_run and (not result.ok or not result.stdout.strip()):
            return {}  # dry run before the cluster exists
        return parse_docker_env(result.stdout, shlex.join(argv))

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
