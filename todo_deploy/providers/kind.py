"""kind: a Kubernetes node in a Docker container, made and removed with the user's `kind`.

`up()` creates the cluster when it is missing (the node's ports 80/443 on 127.0.0.1, or another
loopback address; the node labelled `ingress-ready`), and installs Traefik when the cluster has
no IngressClass. Images are built on the host's engine and copied into the node with
`kind load docker-image`, only the tags the node lacks; with `--registry` they are pushed
instead and the nodes pull them, through a containerd mirror when the registry is on this
machine's loopback.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from todo_deploy.base.clusters import distribution, kind_context
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.kube import Kube
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.providers import ingress_peers, traefik
from todo_deploy.providers.base import ClusterFacts, ClusterStatus, IngressAccess
from todo_deploy.providers.existing import default_ingress_class, push_to_registry

# containerd reads a registry's hosts.toml from here (kind's recipe for a local registry).
CERTS_D = "/etc/containerd/certs.d"
CONTAINERD_PATCH = f"""[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "{CERTS_D}"
"""
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
INSTALL_HINT = (
    "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation: "
    "`brew install kind`, `choco install kind`, or `go install sigs.k8s.io/kind@v0.30.0`)"
)


def registry_host(registry: str) -> str:
    """`localhost:5001/todo` -> `localhost:5001`."""
    return registry.split("/", 1)[0]


def on_loopback(registry: str) -> bool:
    return (urlsplit(f"//{registry_host(registry)}").hostname or "") in LOOPBACK


def containerd_name(ref: str) -> str:
    """The fully qualified name containerd stores a Docker reference under."""
    first, _, rest = ref.partition("/")
    if not rest:
        return f"docker.io/library/{ref}"
    if "." in first or ":" in first or first == "localhost":
        return ref
    return f"docker.io/{ref}"


def merge(base: Any, extra: Any, key: str = "") -> Any:
    """Deep-merge a user's kind config into ours: maps merge, `nodes` merge by position, other
    lists (config patches, port mappings) add up, and the user's scalars win."""
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for k, v in extra.items():
            merged[k] = merge(base[k], v, k) if k in base else v
        return merged
    if isinstance(base, list) and isinstance(extra, list):
        if key != "nodes":
            return base + extra
        paired = [merge(b, e) for b, e in zip(base, extra, strict=False)]
        return paired + base[len(extra) :] + extra[len(base) :]  # one tail is empty
    return extra


class KindProvider:
    dry_run_safe = True  # every change goes through the Runner
    name = "kind"

    def __init__(
        self,
        config: DeployConfig,
        runner: Runner,
        kubectl: str = "kubectl",
        kind: str = "kind",
        which: Callable[[str], str | None] = shutil.which,
    ):
        self.config = config
        self.settings = config.kind
        self.runner = runner
        self.kind = kind
        self.which = which
        self.cluster = self.settings.cluster_name
        self.kube_context = kind_context(self.cluster)
        self.kube = Kube(runner, kubectl, self.kube_context, traefik.NAMESPACE)

    @classmethod
    def create(cls, config: DeployConfig, runner: Runner, tools: Tools) -> KindProvider:
        return cls(config, runner, tools.kubectl, kind=tools.kind)

    def _kind(self, *args: str, step: str, **kwargs: Any):
        return self.runner.run([self.kind, *args], step=step, **kwargs)

    def preflight(self) -> list[str]:
        problems = []
        if not self.which(self.kind):
            problems.append(f"kind not found on PATH: {INSTALL_HINT}")
        extra = self.settings.config_file
        if extra and not Path(extra).is_file():
            problems.append(f"kind config file {extra} not found: fix deploy.kind.config_file")
        registry = self.config.registry
        if registry and on_loopback(registry) and not self.settings.registry_endpoint:
            problems.append(
                f"the kind nodes cannot reach {registry_host(registry)} (this machine's loopback "
                "is not theirs): set deploy.kind.registry_endpoint to the address they use, e.g. "
                "http://kind-registry:5000 for kind's local-registry recipe "
                "(INVOKE_DEPLOY_KIND_REGISTRY_ENDPOINT=...)"
            )
        return problems

    # -- cluster ------------------------------------------------------------------------------

    def exists(self) -> bool:
        listed = self._kind("get", "clusters", step="kind clusters", check=False, mutating=False)
        return self.cluster in listed.stdout.split()

    def cluster_config(self) -> dict[str, Any]:
        s = self.settings
        ports = [
            {
                "containerPort": node_port,
                "hostPort": host_port,
                "listenAddress": s.listen_address,
                "protocol": "TCP",
            }
            for node_port, host_port in ((80, s.http_port), (443, s.https_port))
        ]
        ours = {
            "kind": "Cluster",
            "apiVersion": "kind.x-k8s.io/v1alpha4",
            "nodes": [
                {
                    "role": "control-plane",
                    "labels": {"ingress-ready": "true"},
                    "extraPortMappings": ports,
                }
            ],
            # Lets `--registry` configure a mirror later, without re-creating the cluster.
            "containerdConfigPatches": [CONTAINERD_PATCH],
        }
        if not s.config_file:
            return ours
        return merge(ours, yaml.safe_load(Path(s.config_file).read_text()) or {})

    def planned(self) -> ClusterFacts:
        return ClusterFacts(
            traefik.INGRESS_CLASS, self.settings.http_port, ingress_peers=traefik.PEERS
        )

    def up(self) -> ClusterFacts:
        if not self.exists():
            argv = ["create", "cluster", "--name", self.cluster, "--config", "-"]
            if self.settings.node_image:
                argv += ["--image", self.settings.node_image]
            config = yaml.safe_dump(self.cluster_config(), sort_keys=False)
            self._kind(
                *argv, step="kind create cluster", stdin=config, timeout=self.config.timeouts.deploy
            )
        elif not self._has_context():
            self._kind("export", "kubeconfig", "--name", self.cluster, step="kind kubeconfig")
        timeout = self.config.timeouts.rollout
        self.kube.run(
            "wait", "--for=condition=Ready", "node", "--all", f"--timeout={timeout}s",
            step="nodes Ready", namespaced=False, timeout=timeout + 30,
        )  # fmt: skip
        if self.config.registry and on_loopback(self.config.registry):
            self._configure_mirror(self.config.registry)
        ingress_class, peers = self._ensure_ingress()
        return ClusterFacts(ingress_class, self.settings.http_port, ingress_peers=peers)

    def _has_context(self) -> bool:
        contexts = self.kube.runner.run(
            [self.kube.kubectl, "config", "get-contexts", "-o", "name"],
            step="kube contexts",
            check=False,
            mutating=False,
        )
        return self.kube_context in contexts.stdout.split()

    def nodes(self) -> list[str]:
        listed = self._kind(
            "get", "nodes", "--name", self.cluster, step="kind nodes", check=False, mutating=False
        )
        # A dry run before the cluster exists: kind's name for the node it would create.
        return listed.stdout.split() or [f"{self.cluster}-control-plane"]

    def _configure_mirror(self, registry: str) -> None:
        """containerd on each node pulls `registry` from the endpoint the nodes can reach."""
        host = registry_host(registry)
        hosts_toml = f'server = "http://{host}"\n\n[host."{self.settings.registry_endpoint}"]\n'
        directory = f"{CERTS_D}/{host}"
        for node in self.nodes():
            self.runner.run(
                ["docker", "exec", "-i", node, "sh", "-c",
                 f"mkdir -p '{directory}' && cat > '{directory}/hosts.toml'"],
                step=f"registry mirror on {node}", stdin=hosts_toml,
            )  # fmt: skip

    def _ensure_ingress(self) -> tuple[str, ingress_peers.Peers | None]:
        """The cluster's IngressClass and its controller's peers; Traefik's, installed here,
        when it has none."""
        classes = self.kube.get_json("ingressclass", step="ingress classes", namespaced=False)
        chosen = default_ingress_class(classes)
        if chosen:
            return chosen, ingress_peers.find(self.kube, classes, chosen)
        self._load_missing([traefik.IMAGE], only_local=True)
        traefik.install(self.kube, self.config.timeouts.rollout)
        return traefik.INGRESS_CLASS, traefik.PEERS

    def down(self, delete: bool = False) -> None:
        # kind has no stop: a kind cluster is removed with its node container and its data.
        if not self.exists():
            self.runner.printer(f"kind cluster {self.cluster}: not there, nothing to remove")
            return
        if not delete:
            self.runner.printer(
                f"kind cannot stop a cluster: deleting {self.cluster} (its data with it)"
            )
        self._kind(
            "delete",
            "cluster",
            "--name",
            self.cluster,
            step="kind delete cluster",
            timeout=self.config.timeouts.teardown,
        )

    # -- images -------------------------------------------------------------------------------

    def docker_env(self) -> dict[str, str]:
        return {}  # built on the host's engine, then loaded or pushed

    def load_images(self, refs: list[str]) -> None:
        if self.config.registry:
            push_to_registry(self.runner, self.config.registry, refs)
        else:
            self._load_missing(refs)

    def _node_images(self) -> set[str]:
        """Image names every node has (containerd's k8s.io namespace, where kubelet looks)."""
        common: set[str] | None = None
        for node in self.nodes():
            listed = self.runner.run(
                ["docker", "exec", node, "ctr", "--namespace=k8s.io", "images", "list", "-q"],
                step=f"images on {node}", check=False, mutating=False,
            )  # fmt: skip
            names = set(listed.stdout.split())
            common = names if common is None else common & names
        return common or set()

    def _load_missing(self, refs: list[str], *, only_local: bool = False) -> None:
        """`kind load` the tags the nodes lack (content tags: same tag, same image).

        `only_local`: a tag absent from the host's engine too is left for the node to pull.
        """
        present = self._node_images()
        lacking = [ref for ref in refs if containerd_name(ref) not in present]
        loadable = [ref for ref in lacking if self._on_host(ref)] if only_local else lacking
        if loadable:
            load = distribution("kind").load_command(self.kube_context, program=self.kind)
            self.runner.run([*load, *loadable], step="kind load docker-image", timeout=900)
        if not lacking:
            self.runner.printer(f"kind nodes already have {', '.join(refs)}")
        elif len(loadable) < len(lacking):
            pulled = sorted(set(lacking) - set(loadable))
            self.runner.printer(f"not on this host, the nodes pull: {', '.join(pulled)}")

    def _on_host(self, ref: str) -> bool:
        found = self.runner.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", ref],
            step="image on host",
            check=False,
            mutating=False,
        )
        return found.ok

    # -- access -------------------------------------------------------------------------------

    def ingress(self, host: str) -> IngressAccess:
        address, port = self.settings.listen_address, self.settings.http_port
        url = f"http://{address}" + ("" if port == 80 else f":{port}")
        return IngressAccess(url, host, f"{address} {host}")

    def status(self) -> ClusterStatus:
        if not self.exists():
            return ClusterStatus(False, {"kind cluster": f"{self.cluster} not created"})
        ready = self.kube.run(
            "get",
            "--raw",
            "/readyz",
            step="cluster status",
            namespaced=False,
            check=False,
            mutating=False,
        )
        state = "ok" if ready.ok else (ready.stderr.strip() or "not answering")
        return ClusterStatus(ready.ok, {"kind cluster": "ok", "apiserver": state})
