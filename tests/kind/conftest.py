"""Fixtures of the kind e2e: a normal user with its own clone and tools, and a way to look at
the kind cluster it makes (as root, through that user's kubeconfig)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.e2e.figures import Figure, Figures
from tests.kind import infra
from tests.support import nonroot
from todo_deploy.base.kube import Kube
from todo_deploy.base.run import Runner
from todo_deploy.providers.base import IngressAccess
from todo_deploy.steps.baseimages import ensure_base_images
from todo_deploy.steps.images import docker_cli

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
CLUSTER = "todo"
CONTEXT = f"kind-{CLUSTER}"
NAMESPACE = "todo-app"
HOST = "todo.local"
# Beside a host cluster that holds 127.0.0.1:80 (a developer's machine), set 127.0.0.2.
ADDRESS = os.environ.get("KIND_E2E_ADDRESS", "127.0.0.1")


@dataclass
class Laptop:
    """The user, the settings its `invoke` runs with, and root's view of its cluster."""

    user: nonroot.NonRootUser
    env: dict[str, str]
    kube: Kube
    access: IngressAccess
    outputs: dict[str, str] = field(default_factory=dict)

    def invoke(self, *args: str, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
        seconds, proc = self.user.invoke(*args, "--provider", "kind", env=self.env, timeout=timeout)
        self.outputs[f"invoke {' '.join(args)} #{len(self.outputs) + 1}"] = (
            proc.stdout + proc.stderr
        )
        print(f"$ invoke {' '.join(args)} ({seconds:.1f} s, exit {proc.returncode})")
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return seconds, proc


@pytest.fixture(scope="session")
def figures():
    collected = Figures()
    yield collected
    collected.write(BUILD, stem="kind-figures")
    print("\n" + collected.markdown())


def _port_free(address: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((address, port)) != 0


def _free_the_ingress_port(runner: Runner) -> None:
    """CI: the e2e session's host cluster holds 127.0.0.1:80 with its Traefik; stop it (its
    binaries and state stay cached), so kind gets the ports a laptop's kind gets."""
    if _port_free(ADDRESS, 80):
        return
    if ADDRESS == "127.0.0.1" and os.environ.get("CI"):
        runner.run([sys.executable, "-m", "invoke", "cluster.down", "--provider", "host"],
                   step="stop the host cluster (frees 127.0.0.1:80)", timeout=300)  # fmt: skip
    if not _port_free(ADDRESS, 80):
        raise RuntimeError(
            f"{ADDRESS}:80 is taken (the host cluster's Traefik?): run "
            "`invoke cluster.down --provider host`, or set KIND_E2E_ADDRESS=127.0.0.2"
        )


@pytest.fixture(scope="session")
def laptop(figures) -> Laptop:
    runner = Runner()
    started = time.monotonic()
    ci = infra.prepare(runner)
    # This engine pulls nothing, and a normal user cannot build stand-in bases (debootstrap
    # needs root): root's own product path makes them, as a root `invoke deploy` would. In the
    # default run the sessions before made them already, and this only finds them.
    ensure_base_images(docker_cli(runner, {}))
    figures.record(
        Figure(
            "CI support ready (kind, node image, add-on images)", time.monotonic() - started, "s"
        )
    )
    started = time.monotonic()
    user = nonroot.ensure_user()
    nonroot.give_tools(user, {"helm": ci.helm, "kubectl": ci.kubectl, "kind": ci.kind})
    commit = nonroot.fresh_clone(user)
    nonroot.empty_deploy_cache(user)
    # CI only: the offline node image, and no kindnet (its image cannot be had offline).
    kind_config = user.home / "kind-ci.yaml"
    kind_config.write_text(yaml.safe_dump(ci.cluster_config))
    env = {
        "INVOKE_DEPLOY_KIND_NODE_IMAGE": ci.node_image,
        "INVOKE_DEPLOY_KIND_CONFIG_FILE": str(kind_config),
        "INVOKE_DEPLOY_KIND_LISTEN_ADDRESS": ADDRESS,
    }
    user.run(["kind", "delete", "cluster", "--name", CLUSTER], env=env)  # an earlier run's
    _free_the_ingress_port(runner)
    figures.record(
        Figure(f"non-root user {user.name} ready (clone {commit})", time.monotonic() - started, "s")
    )
    kube_runner = Runner(base_env={**os.environ, "KUBECONFIG": str(user.home / ".kube/config")})
    kube = Kube(kube_runner, str(ci.kubectl), CONTEXT, NAMESPACE)
    url = f"http://{ADDRESS}"
    return Laptop(user, env, kube, IngressAccess(url, HOST, f"{ADDRESS} {HOST}"))
