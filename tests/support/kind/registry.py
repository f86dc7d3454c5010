"""A local image registry for CI: distribution v3 built from the Go module, on 127.0.0.1:5001.

It runs the way kind's own guide runs a local registry: a container published on loopback only
and attached to the `kind` network, so the nodes reach it by name while nothing outside this
machine can. The suite pushes to `localhost:5001/...` (Docker trusts plain HTTP on loopback);
the nodes' containerd maps that name to the container through a mirror config
(`containerd_config_patch()`), which is what users configure for a registry of their own.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from tests.support.kind import gobuild, paths
from tests.support.kind.componentimages import scratch_maker
from todo_deploy.base.engine import DockerCli

IMAGE = f"local/registry:{gobuild.REGISTRY.version}"
CONTAINER = "todo-ci-registry"
HOST = "127.0.0.1"
PORT = 5001
CONTAINER_PORT = 5000
ADDRESS = f"localhost:{PORT}"  # what images are tagged and pushed as
KIND_NETWORK = "kind"
DATA_VOLUME = "todo-ci-registry-data"
CONFIG_INSIDE = "/etc/distribution/config.yml"
CONFIG = {
    "version": 0.1,
    "log": {"level": "info", "formatter": "text"},
    "storage": {"filesystem": {"rootdirectory": "/var/lib/registry"}, "delete": {"enabled": True}},
    "http": {"addr": f":{CONTAINER_PORT}"},
}
READY_TIMEOUT = 30


class RegistryError(RuntimeError):
    pass


def config_file() -> Path:
    return paths.cache_dir() / "registry" / "config.yml"


def endpoint_in_cluster() -> str:
    """The address a kind node's containerd pulls from (Docker's DNS on the kind network)."""
    return f"http://{CONTAINER}:{CONTAINER_PORT}"


def containerd_config_patch() -> str:
    """For a kind config's `containerdConfigPatches`: pulls of localhost:5001/... (and the
    127.0.0.1 spelling) go to the registry container."""
    names = (ADDRESS, f"{HOST}:{PORT}")
    return "\n".join(
        f'[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{name}"]\n'
        f'  endpoint = ["{endpoint_in_cluster()}"]'
        for name in names
    )


def _state(docker: DockerCli) -> dict | None:
    result = docker.run(
        "container", "inspect", CONTAINER, step="inspect registry", check=False, mutating=False
    )
    return json.loads(result.stdout)[0] if result.ok else None


@paths.locked
def start(docker: DockerCli) -> float:
    """Start the registry (idempotent; attaches it to the kind network when that exists).
    Returns the seconds it took."""
    started = time.monotonic()
    program = gobuild.ensure_program(docker.runner, gobuild.REGISTRY)
    scratch_maker(docker, program, "/usr/local/bin/registry")(IMAGE)
    config = config_file()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(CONFIG, indent=2) + "\n")  # YAML is a superset of JSON
    state = _state(docker)
    if state and state["Config"]["Image"] != IMAGE:
        docker.run("rm", "-f", CONTAINER, step="replace an outdated registry")
        state = None
    if state is None:
        docker.run(
            "run", "-d", "--name", CONTAINER, "--restart=unless-stopped",
            "-p", f"{HOST}:{PORT}:{CONTAINER_PORT}",
            "-v", f"{DATA_VOLUME}:/var/lib/registry",
            "-v", f"{config}:{CONFIG_INSIDE}:ro",
            IMAGE, "serve", CONFIG_INSIDE,
            step="start the registry",
        )  # fmt: skip
    elif not state["State"]["Running"]:
        docker.run("start", CONTAINER, step="start the registry")
    attach_to_kind_network(docker)
    _wait_ready()
    return time.monotonic() - started


def attach_to_kind_network(docker: DockerCli) -> bool:
    """Join the `kind` network (made by the first `kind create cluster`); True when joined."""
    network = docker.run(
        "network",
        "inspect",
        KIND_NETWORK,
        step="inspect kind network",
        check=False,
        mutating=False,
    )
    if not network.ok:
        return False
    state = _state(docker)
    if state and KIND_NETWORK in state["NetworkSettings"]["Networks"]:
        return True
    docker.run("network", "connect", KIND_NETWORK, CONTAINER, step="registry joins kind network")
    return True


def stop(docker: DockerCli, *, delete_data: bool = False) -> None:
    """Remove the registry container (idempotent); its images stay unless `delete_data`."""
    docker.run("rm", "-f", CONTAINER, step="remove the registry", check=False)
    if delete_data:
        docker.run("volume", "rm", "-f", DATA_VOLUME, step="remove registry data", check=False)


def url() -> str:
    return f"http://{HOST}:{PORT}"


def _wait_ready() -> None:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with direct.open(f"{url()}/v2/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RegistryError(
        f"the registry did not answer on {url()}/v2/ within {READY_TIMEOUT} s: "
        f"see `docker logs {CONTAINER}`"
    )
