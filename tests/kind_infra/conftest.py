"""A kind cluster made from the offline node image by a normal user, for the tests here.

Root (CI) prepares the machine with tests.support.kind; everything about the cluster itself
(create, load, kubectl, delete) runs as the non-root user `todo-ci`, in group docker.
"""

from __future__ import annotations

import os
import platform
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.kind import gobuild, nodeimage, paths, registry, runtime
from tests.support.kind import network as kind_network
from tests.support.require import require
from todo_deploy.base.engine import DockerCli, ensure_engine
from todo_deploy.base.run import Runner
from todo_deploy.providers.host.layout import Layout

USER = "todo-ci"
CLUSTER = "todo-infra"
CONTEXT = f"kind-{CLUSTER}"
# Not 80/443: the host cluster's Traefik may hold 127.0.0.1:80 in the same CI run.
HTTP_PORT, HTTPS_PORT = 18080, 18443


@dataclass(frozen=True)
class CiUser:
    name: str
    home: Path
    tools: Path  # kind and kubectl, readable by the user

    def run(self, *argv: str | Path, timeout: float = 300, stdin: str | None = None):
        env = [f"HOME={self.home}", f"PATH={self.tools}:/usr/bin:/bin", "LANG=C.UTF-8"]
        command = ["runuser", "-u", self.name, "--", "env", "-i", *env, *map(str, argv)]
        return subprocess.run(
            command,
            input=stdin,
            text=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.home,
            check=False,
        )

    def kubectl(self, *args: str, timeout: float = 180, stdin: str | None = None):
        result = self.run("kubectl", "--context", CONTEXT, *args, timeout=timeout, stdin=stdin)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, float]]:
    collected: dict[str, float] = {}
    yield collected
    print("\nkind (offline CI) figures:")
    for name, value in collected.items():
        print(f"  {name:<58} {value:8.1f} s")


@pytest.fixture(scope="session")
def runner() -> Runner:
    return Runner()


@pytest.fixture(scope="session")
def prepared(runner: Runner, figures: dict[str, float]) -> str:
    """The machine can run kind offline: engine, runtime, guards, node image; returns it."""
    require(platform.system() == "Linux" and os.geteuid() == 0, "root on Linux (CI)")
    require(shutil.which("go") is not None, "a Go toolchain (to build kind and Kubernetes)")
    ensure_engine(runner)
    runtime.ensure_runtime(runner)
    kind_network.guard(runner)
    started = time.monotonic()
    image = nodeimage.ensure_node_image(DockerCli(runner))
    figures["node image (this run: cached when unchanged)"] = time.monotonic() - started
    for piece, seconds in paths.cold_seconds().items():
        figures[f"cold build: {piece}"] = seconds
    return image


@pytest.fixture(scope="session")
def ci_user(runner: Runner, prepared: str) -> Iterator[CiUser]:
    try:
        pwd.getpwnam(USER)
        runner.run(["usermod", "--append", "--groups", "docker", USER], step="usermod")
    except KeyError:
        runner.run(
            ["useradd", "--create-home", "--shell", "/bin/sh", "--groups", "docker", USER],
            step=f"useradd {USER}",
        )
    home = Path(pwd.getpwnam(USER).pw_dir)
    tools = Path(tempfile.mkdtemp(prefix="todo-ci-tools-"))
    tools.chmod(0o755)
    # The host provider's Go-built kubectl (the node image's own), so nothing is fetched.
    gobuild.install(Layout.default().binary("kubectl"), tools)
    gobuild.install(gobuild.ensure_program(runner, gobuild.KIND), tools)
    yield CiUser(USER, home, tools)
    shutil.rmtree(tools, ignore_errors=True)


def kind_config() -> str:
    return yaml.safe_dump(
        {
            "kind": "Cluster",
            "apiVersion": "kind.x-k8s.io/v1alpha4",
            "networking": {"disableDefaultCNI": True, "podSubnet": nodeimage.POD_SUBNET},
            "containerdConfigPatches": [registry.containerd_config_patch()],
            "nodes": [
                {
                    "role": "control-plane",
                    "extraPortMappings": [
                        {"containerPort": 80, "hostPort": HTTP_PORT, "listenAddress": "127.0.0.1"},
                        {
                            "containerPort": 443,
                            "hostPort": HTTPS_PORT,
                            "listenAddress": "127.0.0.1",
                        },
                    ],
                }
            ],
        }
    )


@pytest.fixture(scope="session")
def cluster(ci_user: CiUser, runner: Runner, figures: dict[str, float]) -> Iterator[CiUser]:
    """A fresh kind cluster made by the normal user from the cached node image."""
    ci_user.run("kind", "delete", "cluster", "--name", CLUSTER, timeout=120)
    config = ci_user.home / "kind-infra.yaml"
    config.write_text(kind_config())
    shutil.chown(config, user=USER)
    started = time.monotonic()
    created = ci_user.run(
        "kind", "create", "cluster", "--name", CLUSTER, "--image", nodeimage.NODE_IMAGE,
        "--config", config, "--wait", "0s", timeout=600,
    )  # fmt: skip
    assert created.returncode == 0, f"kind create cluster:\n{created.stderr}"
    figures["kind create cluster (cached node image)"] = time.monotonic() - started
    # The registry joins the kind network, which the first create makes.
    registry.start(DockerCli(runner))
    yield ci_user
    ci_user.run("kind", "delete", "cluster", "--name", CLUSTER, timeout=120)
