"""`HostProvider`: a real single-node Kubernetes made of host processes, built from Go modules.

Warm `up()` (binaries built, state kept) starts eight daemons and waits for the node, DNS and
the ingress; cold `up()` builds everything first (see README.md for the figures).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from todo_deploy.base.config import DeployConfig
from todo_deploy.base.debian import ensure_packages
from todo_deploy.base.engine import ensure_engine
from todo_deploy.base.kube import Kube, wait_until
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.base.yamldocs import documents
from todo_deploy.providers import ingress_peers
from todo_deploy.providers.base import ClusterFacts, ClusterStatus, IngressAccess
from todo_deploy.providers.host import (
    addons,
    build,
    components,
    configs,
    images,
    network,
    settling,
    storage,
)
from todo_deploy.providers.host import preflight as checks
from todo_deploy.providers.host.daemons import Daemon, Supervisor
from todo_deploy.providers.host.dns import resolve_a
from todo_deploy.providers.host.layout import (
    CONTEXT,
    DNS_SERVICE_IP,
    INGRESS_PORT,
    NODE_NAME,
    Layout,
)
from todo_deploy.providers.host.pki import Pki

PACKAGES = {
    "/usr/bin/etcd": "etcd-server",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "iptables": "iptables",
    "nft": "nftables",  # the teardown removes the network-policy table
    "conntrack": "conntrack",
    "socat": "socat",  # kubectl port-forward through cri-dockerd
    "ip": "iproute2",
    "start-stop-daemon": "dpkg",
    "gcc": "gcc",  # the pause binary
    "/usr/lib/*/libc.a": "libc6-dev",  # static libc for the pause binary
}
# Started one by one, each waited for: the next needs it (the kubelet exits without its CRI).
SERIAL = ("etcd", "kube-apiserver", "cri-dockerd")
READY_TIMEOUT = 180


class HostClusterError(RuntimeError):
    pass


class HostProvider:
    name = "host"
    kube_context = CONTEXT
    dry_run_safe = False  # up() writes certificates, configs and state itself

    def __init__(self, config: DeployConfig, runner: Runner, layout: Layout | None = None):
        self.config = config
        self.runner = runner
        self.layout = layout or Layout.default()
        self.pki = Pki(self.layout)
        self.supervisor = Supervisor(runner, self.layout.run, self.layout.logs)
        self.kubectl = str(self.layout.binary("kubectl"))
        # The cluster's own admin kubeconfig: it works before the user's is merged.
        self.kube = Kube(runner, self.kubectl, None, "default", str(self.layout.admin_kubeconfig))

    @classmethod
    def create(cls, config: DeployConfig, runner: Runner, tools: Tools) -> HostProvider:
        return cls(config, runner)  # it runs the binaries it builds, not the user's tools

    # -- Provider protocol -------------------------------------------------------------------

    def preflight(self) -> list[str]:
        running = {d.name for d in self._daemons() if self.supervisor.pid(d)}
        needs_build = bool(build.missing_binaries(self.layout))
        return checks.problems(checks.gather(needs_build), running)

    def planned(self) -> ClusterFacts:
        # Traefik runs on the node itself, which NetworkPolicy always admits: no peer needed.
        return ClusterFacts(
            ingress_class=addons.INGRESS_CLASS,
            traefik_middleware=True,
            ingress_peers=ingress_peers.NODE_ONLY,
        )

    def up(self) -> ClusterFacts:
        started = time.monotonic()
        problems = self.preflight()
        if problems:
            raise HostClusterError("host cluster cannot start:\n  - " + "\n  - ".join(problems))
        if self.runner.dry_run:
            self._print_plan()
            return self.planned()
        ensure_packages(self.runner, PACKAGES)
        ensure_engine(self.runner)
        build.ensure_binaries(self.runner, self.layout)
        self.pki.ensure()
        configs.write_all(self.layout, self.pki)
        manifest = addons.as_list([*addons.all_objects(), *storage.objects(self.layout)])
        settled = settling.Settled(self.layout, manifest, self.runner, self._user_kubeconfig())
        if not settled.holds():
            network.setup(self.runner)
            images.ensure_cluster_images(self.runner, self.layout)
        self._start_daemons()
        storage.prepare_dirs(self.layout)
        if not settled.holds():
            self._merge_kubeconfig()
            self._apply(manifest, step="cluster add-ons (CoreDNS, IngressClass, StorageClass)")
            self._ensure_traefik_crds()
        self._recycle_volumes()
        self._wait_ready()
        settled.record()
        self.runner.printer(f"host cluster: up in {time.monotonic() - started:.0f} s")
        return self.planned()

    def down(self, delete: bool = False) -> None:
        if not self.runner.dry_run:
            settling.forget(self.layout)
        daemons = list(reversed(self._daemons()))
        # The kubelet first, so it does not restart the pods we are about to remove.
        self.supervisor.stop(next(d for d in daemons if d.name == "kubelet"))
        self._remove_pod_containers()
        for daemon in daemons:
            if daemon.name != "etcd":  # the API server still writes to it while it shuts down
                self.supervisor.terminate(daemon)
        for daemon in daemons:
            self.supervisor.stop(daemon)  # waits, and kills what outlives its grace period
        self._unmount_state()
        self._remove_tree(self.layout.ipam_leases)  # their pods are gone
        network.teardown(self.runner, keep_guards=not delete)
        if delete:
            self._forget_kubeconfig()
            self._remove_tree(self.layout.state)

    def docker_env(self) -> dict[str, str]:
        # cri-dockerd drives the host's own engine: what `docker build` makes, pods can run.
        return {}

    def load_images(self, refs: list[str]) -> None:
        missing = images.absent(self.runner, refs)
        if missing:
            raise HostClusterError(f"images not in the host's Docker engine: {missing}")

    def ingress(self, host: str) -> IngressAccess:
        return IngressAccess(f"http://127.0.0.1:{INGRESS_PORT}", host, f"127.0.0.1 {host}")

    def status(self) -> ClusterStatus:
        components = {d.name: self.supervisor.healthy(d) for d in self._daemons()}
        components["node"] = "ok" if self._node_ready() else f"{NODE_NAME} not Ready"
        components["dns"] = "ok" if self._dns_answers() else f"no answer from {DNS_SERVICE_IP}"
        running = all(state == "ok" for state in components.values())
        return ClusterStatus(running=running, components=components)

    # -- steps ---------------------------------------------------------------------------------

    def _remove_tree(self, path: Path) -> None:
        if self.runner.dry_run:
            self.runner.printer(f"[dry-run] remove {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)

    def _print_plan(self) -> None:
        """Dry run: what `up` would build and start, without writing state or starting anything."""
        missing = build.missing_binaries(self.layout)
        self.runner.printer(f"[dry-run] build from Go modules: {', '.join(missing) or 'nothing'}")
        self.runner.printer(f"[dry-run] state in {self.layout.state}; bridge, routes, iptables")
        for daemon in self._daemons():
            self.runner.printer(f"[dry-run] start {self.runner.describe(daemon.argv, daemon.env)}")

    def _daemons(self) -> list[Daemon]:
        return components.all_daemons(self.layout, self.pki)

    def _start_daemons(self) -> None:
        daemons = self._daemons()
        for daemon in daemons:
            self.supervisor.start(daemon)
            if daemon.name in SERIAL:
                self.supervisor.wait_healthy(daemon, timeout=90)
        for daemon in daemons:
            self.supervisor.wait_healthy(daemon, timeout=90)

    def _ensure_traefik_crds(self) -> None:
        """Traefik's CRDs, once: its CRD provider serves the chart's body-limit Middleware."""
        names = [f"{kind}.traefik.io" for kind in addons.TRAEFIK_CRD_KINDS]
        found = self.runner.run(
            self.kube.argv("get", "crd", *names, "-o", "name", namespaced=False),
            step="Traefik's CRDs", check=False, mutating=False,
        )  # fmt: skip
        if found.ok:
            return
        crds = build.traefik_crds(self.runner, self.layout)
        self._apply(
            addons.as_list(documents(crds.read_text())),
            step="Traefik's CRDs (Middleware and the rest)",
        )

    def _apply(self, manifest: dict, *, step: str) -> None:
        argv = self.kube.argv(
            "apply", "--server-side", "--force-conflicts", "-f", "-", namespaced=False
        )
        deadline = time.monotonic() + 60
        while True:  # right after start the API server may still refuse (RBAC bootstrap)
            result = self.runner.run(argv, step=step, stdin=json.dumps(manifest), check=False)
            if result.ok or time.monotonic() > deadline:
                break
            time.sleep(1)
        if not result.ok:
            self.runner.run(argv, step=step, stdin=json.dumps(manifest))

    def _recycle_volumes(self) -> None:
        volumes = self._get_json("pv", "-l", storage.POOL_LABEL) or {}
        for name in storage.released(volumes):
            storage.wipe(self.layout, name)
            patch = '[{"op": "remove", "path": "/spec/claimRef"}]'
            patch_argv = ("patch", "pv", name, "--type", "json", "-p", patch)
            self.kube.run(*patch_argv, step=f"recycle volume {name}", namespaced=False)

    def _get_json(self, *what: str) -> dict | None:
        return self.kube.get_json(*what, step=f"get {' '.join(what)}", namespaced=False)

    def _node_ready(self) -> bool:
        if not network.bridge_exists():  # the API address is not on this host: ask nobody
            return False
        node = self._get_json("node", NODE_NAME)
        conditions = (node or {}).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _dns_answers(self) -> bool:
        if not network.bridge_exists():  # no route keeps the service range local: ask nobody
            return False
        return bool(resolve_a(DNS_SERVICE_IP, "kubernetes.default.svc.cluster.local"))

    def _wait_ready(self) -> None:
        waits = {
            f"node {NODE_NAME} Ready": self._node_ready,
            "cluster DNS answers": self._dns_answers,
            "ingress (Traefik) answers": self._ingress_answers,
        }
        for what, check in waits.items():
            if not wait_until(check, timeout=READY_TIMEOUT, interval=1):
                raise HostClusterError(
                    f"host cluster: {what} did not happen within {READY_TIMEOUT} s; "
                    f"logs in {self.layout.logs}; status: {self.status().components}"
                )

    def _ingress_answers(self) -> bool:
        return self.supervisor.healthy(components.traefik(self.layout, self.pki)) == "ok"

    def _remove_pod_containers(self) -> None:
        # cri-dockerd names every pod container (sandboxes too) k8s_...
        listed = self.runner.run(
            ["docker", "ps", "-aq", "--filter", "name=^k8s_"],
            step="list pod containers",
            check=False,
            mutating=False,
        )
        ids = listed.stdout.split()
        if ids:
            self.runner.run(["docker", "rm", "-f", "-v", *ids], step="remove pod containers")

    def _unmount_state(self) -> None:
        """The kubelet mounts secrets and tokens (tmpfs) under its root dir: unmount them."""
        state = str(self.layout.state.resolve()) + "/"
        mounts = [
            line.split()[1]
            for line in Path("/proc/mounts").read_text().splitlines()
            if line.split()[1].startswith(state)
        ]
        for mount in sorted(mounts, key=len, reverse=True):
            self.runner.run(["umount", "-l", mount], step="unmount kubelet volume", check=False)

    def _user_kubeconfig(self) -> Path:
        configured = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        return Path(configured) if configured else Path.home() / ".kube" / "config"

    def _merge_kubeconfig(self) -> None:
        """Add context `todo-host` (certificates embedded) to the user's kubeconfig."""
        target = ["--kubeconfig", str(self._user_kubeconfig())]
        user = f"{CONTEXT}-admin"
        server = components.API_URL
        steps = [
            ["set-cluster", CONTEXT, f"--server={server}",
             f"--certificate-authority={self.pki.path('ca')}", "--embed-certs=true"],
            ["set-credentials", user, f"--client-certificate={self.pki.path('admin')}",
             f"--client-key={self.pki.path('admin', 'key')}", "--embed-certs=true"],
            ["set-context", CONTEXT, f"--cluster={CONTEXT}", f"--user={user}"],
        ]  # fmt: skip
        self._user_kubeconfig().parent.mkdir(parents=True, exist_ok=True)
        for args in steps:
            self.runner.run([self.kubectl, "config", *args, *target], step="kubeconfig")
        # Like minikube, make plain `kubectl` reach the cluster -- but never take the current
        # context away from another cluster the user chose.
        current = self.runner.run(
            [self.kubectl, "config", "current-context", *target],
            step="kubeconfig",
            check=False,
            mutating=False,
        )
        if not current.ok or not current.stdout.strip():
            self.runner.run(
                [self.kubectl, "config", "use-context", CONTEXT, *target], step="kubeconfig"
            )

    def _forget_kubeconfig(self) -> None:
        if not self._user_kubeconfig().exists() or not Path(self.kubectl).exists():
            return
        target = ["--kubeconfig", str(self._user_kubeconfig())]
        for args in (
            ["delete-context", CONTEXT],
            ["delete-cluster", CONTEXT],
            ["delete-user", f"{CONTEXT}-admin"],
        ):
            argv = [self.kubectl, "config", *args, *target]
            self.runner.run(argv, step="forget kubeconfig context", check=False)
