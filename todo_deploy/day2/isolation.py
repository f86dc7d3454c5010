"""Prove the chart's NetworkPolicies hold on this cluster, with real TCP connects from
throwaway pods.

The policies say the MCP server and PostgreSQL answer the app's own pods only, and the front
end and back end those plus the ingress controller (`networkPolicy.ingressControllerPeers`).
Whether that holds depends on the cluster's network plugin (a plain bridge ignores
NetworkPolicy) and no API reports it, so this check tries: a pod outside the app must be
refused by every component, a pod carrying the back end's peer labels must reach the MCP
server and PostgreSQL. That the controller gets through, the deploy's verify through the
ingress proves.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from todo_deploy.base.config import MinikubeSettings
from todo_deploy.base.kube import wait_until
from todo_deploy.providers.minikube import isolation_hint
from todo_deploy.steps.target import Target

CONNECT_TIMEOUT = 3  # seconds; a refused policy drop never answers, a live port answers in ms
POD_TIMEOUT = 90
RESULT_PREFIX = "probe "
PRIVATE = ("mcp", "postgres")  # the components only the app's pods may reach
PEERS_VALUE = "networkPolicy.ingressControllerPeers"
UNKNOWN_CLUSTER_FIX = (
    "minikube: `minikube delete -p todo`, then `invoke deploy` (it starts Minikube with "
    "--cni=calico); kind: v0.24 or newer (kindnet enforces); other clusters: install "
    "Calico or Cilium"
)

# Runs inside the probe pod: one line per address, "probe host:port open|blocked".
SCRIPT = f"""
import socket, sys
for address in sys.argv[1:]:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout={CONNECT_TIMEOUT}).close()
        print("{RESULT_PREFIX}" + address, "open", flush=True)
    except OSError:
        print("{RESULT_PREFIX}" + address, "blocked", flush=True)
"""


class IsolationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Verdict:
    source: str  # where the probe ran: "outside the app" or "as the back end"
    target: str  # component
    observed: str  # "open" or "blocked"
    expected: str

    @property
    def ok(self) -> bool:
        return self.expected == self.observed


def probe_pod(
    name: str, namespace: str, labels: dict[str, str], image: str, addresses: list[str]
) -> dict[str, Any]:
    """A pod that passes the `restricted` Pod Security level, so any app namespace admits it."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "-c", SCRIPT, *addresses],
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "32Mi"},
                        "limits": {"cpu": "200m", "memory": "64Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


def parse_results(logs: str, addresses: list[str]) -> dict[str, str]:
    """address -> "open" | "blocked"; raises when the probe did not answer for every one."""
    results = dict(
        line.removeprefix(RESULT_PREFIX).rsplit(" ", 1)
        for line in logs.splitlines()
        if line.startswith(RESULT_PREFIX)
    )
    if set(results) != set(addresses):
        raise IsolationError(f"the probe pod answered {results} for {addresses}: {logs[-500:]}")
    return results


def judge(outside: dict[str, str], inside: dict[str, str]) -> list[Verdict]:
    """Verdicts per component, from results keyed by component name."""
    verdicts = [
        Verdict("outside the app", target, state, "blocked") for target, state in outside.items()
    ]
    verdicts += [Verdict("as the back end", t, state, "open") for t, state in inside.items()]
    return verdicts


def protected_components(policies: dict[str, Any], components: Iterable[str]) -> set[str]:
    """Components some ingress NetworkPolicy selects (an empty selector selects them all)."""
    selected: set[str] = set()
    for policy in policies.get("items", []):
        spec = policy.get("spec", {})
        if "Ingress" not in spec.get("policyTypes", ["Ingress"]):
            continue
        selector = spec.get("podSelector") or {}
        if not selector:
            return set(components)
        component = selector.get("matchLabels", {}).get("app.kubernetes.io/component")
        if component:
            selected.add(component)
    return selected


def failure_message(
    verdicts: list[Verdict], protected: set[str], *, minikube: MinikubeSettings | None = None
) -> str:
    """What failed and the fix; `minikube`: the settings of the minikube cluster probed."""
    failed = [v for v in verdicts if not v.ok]
    unprotected = [
        v.target for v in failed if v.source == "outside the app" and v.target not in protected
    ]
    leaks = [v.target for v in failed if v.source == "outside the app" and v.target in protected]
    private_held = not any(t in PRIVATE for t in leaks) and any(
        v.target in PRIVATE for v in verdicts if v.source == "outside the app"
    )
    wide = leaks if private_held else []
    leaks = [] if private_held else leaks
    refused = [v.target for v in failed if v.source == "as the back end"]
    lines = []
    if unprotected:
        lines.append(
            f"no NetworkPolicy protects {' and '.join(unprotected)}: set networkPolicy.enabled "
            "to true in your values (the default) and run `invoke deploy`"
        )
    if leaks:
        # On minikube the configured CNI is the likely reason; elsewhere, each cluster's fix.
        fix = isolation_hint(minikube) if minikube else UNKNOWN_CLUSTER_FIX
        lines.append(
            f"{' and '.join(leaks)} answered a pod outside the app although NetworkPolicies "
            f"select it: this cluster's network plugin does not enforce NetworkPolicy. Fix: {fix}"
        )
    if wide:
        lines.append(
            f"{' and '.join(wide)} answered a pod outside the app and its ingress controller, "
            f"while the MCP server and PostgreSQL refused it: the peers in {PEERS_VALUE} admit "
            "more than the controller. Fix: in your values file, narrow them to the "
            "controller's namespace and pod labels (or remove them: `invoke deploy` then sets "
            "the peers of the controller it finds), and run `invoke deploy`"
        )
    if refused:
        lines.append(
            f"{' and '.join(refused)} refused the back end's peers: the app itself is blocked. "
            "Fix: check `networkPolicy` in your values and `kubectl get networkpolicy`"
        )
    return "\n".join(lines)


class IsolationCheck:
    """Runs the probes in the app's namespace and in a throwaway one next to it."""

    def __init__(self, target: Target):
        self.kube = target.kube
        self.release = target.config.release
        self.catalogue = target.catalogue
        on_minikube = target.provider.name == "minikube"
        self.minikube = target.config.minikube if on_minikube else None
        # Its own name each run: the last run's namespace may still be terminating.
        self.outside_namespace = f"{self.kube.namespace}-probe-{secrets.token_hex(3)}"

    def protected(self) -> set[str]:
        policies = self.kube.get_json("networkpolicies", step="policies") or {}
        return protected_components(policies, self.catalogue.names())

    def explain(self, verdicts: list[Verdict]) -> str:
        """failure_message() for this cluster: on minikube, naming its configured CNI."""
        return failure_message(verdicts, self.protected(), minikube=self.minikube)

    def run(self) -> list[Verdict]:
        image = self._probe_image()
        services = self._service_names()
        present = [c.name for c in self.catalogue.components.values() if c.object_name in services]
        private = [c for c in PRIVATE if c in present]
        if not private:
            raise IsolationError(
                f"no MCP or PostgreSQL Service in {self.kube.namespace}: deploy first"
            )
        self._ensure_namespace()
        try:
            outside = self._probe(
                self.outside_namespace,
                {"app.kubernetes.io/name": "isolation-probe"},
                image,
                present,
            )
            # The back end's peer labels without its name label: the policies admit the pod,
            # but no Service or Deployment of the app selects it.
            peer = {
                "app.kubernetes.io/instance": self.release,
                "app.kubernetes.io/component": "backend",
            }
            inside = self._probe(self.kube.namespace, peer, image, private)
        finally:
            self.kube.run(
                "delete", "namespace", self.outside_namespace, "--wait=false", "--ignore-not-found",
                step="remove the probe namespace", namespaced=False, check=False,
            )  # fmt: skip
        return judge(outside, inside)

    def _address(self, component: str) -> str:
        found = self.catalogue[component]
        return f"{found.object_name}.{self.kube.namespace}.svc:{found.port}"

    def _probe_image(self) -> str:
        # The back end's image has Python and is already on the node.
        backend = self.catalogue["backend"]
        deployment = self.kube.get_json(backend.workload, step="back-end image")
        if deployment is None:
            raise IsolationError(f"no {backend.workload} in {self.kube.namespace}: deploy first")
        return deployment["spec"]["template"]["spec"]["containers"][0]["image"]

    def _service_names(self) -> set[str]:
        services = self.kube.get_json("services", step="services") or {}
        return {s["metadata"]["name"] for s in services.get("items", [])}

    def _ensure_namespace(self) -> None:
        manifest = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.outside_namespace},
        }
        self.kube.apply(manifest, step=f"namespace {self.outside_namespace}")

    def _probe(
        self, namespace: str, labels: dict[str, str], image: str, components: list[str]
    ) -> dict[str, str]:
        addresses = [self._address(c) for c in components]
        name = f"isolation-probe-{secrets.token_hex(3)}"
        self.kube.apply(
            probe_pod(name, namespace, labels, image, addresses), step="start probe pod"
        )
        try:
            logs = self._wait_for_output(name, namespace)
        finally:
            self.kube.run(
                "delete", "pod", name, "-n", namespace, "--wait=false",
                step="remove probe pod", namespaced=False, check=False,
            )  # fmt: skip
        results = parse_results(logs, addresses)
        return {c: results[self._address(c)] for c in components}

    def _wait_for_output(self, name: str, namespace: str) -> str:
        def finished() -> bool:
            pod = self.kube.get_json("pod", name, "-n", namespace, step="probe", namespaced=False)
            return (pod or {}).get("status", {}).get("phase") in ("Succeeded", "Failed")

        done = wait_until(finished, timeout=POD_TIMEOUT, interval=1)
        logs = self.kube.run(
            "logs",
            name,
            "-n",
            namespace,
            step="probe output",
            namespaced=False,
            check=False,
            mutating=False,
        ).stdout
        if not done:
            raise IsolationError(f"probe pod {namespace}/{name} did not finish in {POD_TIMEOUT} s")
        return logs
