"""Which app ports a pod with given labels, in a given namespace, can open: a real TCP connect
from a short-lived probe pod, so the answer is what the cluster's policy engine decided."""

from __future__ import annotations

import json
import time

from tests.e2e.conftest import Stack
from todo_deploy.kube import wait_until

CONNECT_TIMEOUT = 3  # seconds; a dropped SYN is retried, a policy drop never answers
POD_TIMEOUT = 90
RESULT_PREFIX = "probe "

# Runs inside the probe: one line per target, "probe host:port open|blocked".
SCRIPT = f"""
import socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout={CONNECT_TIMEOUT}).close()
        print("{RESULT_PREFIX}" + target, "open", flush=True)
    except OSError:
        print("{RESULT_PREFIX}" + target, "blocked", flush=True)
"""


def _pod(name: str, namespace: str, labels: dict[str, str], image: str, targets: list[str]):
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
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", SCRIPT, *targets],
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


def _phase(stack: Stack, name: str, namespace: str) -> str:
    pod = stack.kube.get_json("pod", name, "-n", namespace, step="probe phase", namespaced=False)
    return (pod or {}).get("status", {}).get("phase", "")


def probe(
    stack: Stack, namespace: str, labels: dict[str, str], image: str, targets: list[str]
) -> dict[str, str]:
    """target -> "open" | "blocked", from a pod with `labels` in `namespace`."""
    name = f"netprobe-{int(time.time() * 1000) % 10**8}"
    stack.kube.apply(_pod(name, namespace, labels, image, targets), step="start probe pod")
    try:
        done = wait_until(
            lambda: _phase(stack, name, namespace) in ("Succeeded", "Failed"),
            timeout=POD_TIMEOUT,
            interval=1,
        )
        logs = stack.kube.run(
            "logs", name, "-n", namespace, step="probe output", namespaced=False, check=False
        ).stdout
        assert done, f"probe pod {namespace}/{name} did not finish in {POD_TIMEOUT} s: {logs}"
    finally:
        stack.kube.run(
            "delete", "pod", name, "-n", namespace, "--wait=false",
            step="remove probe pod", namespaced=False, check=False,
        )  # fmt: skip
    results = dict(
        line.removeprefix(RESULT_PREFIX).rsplit(" ", 1)
        for line in logs.splitlines()
        if line.startswith(RESULT_PREFIX)
    )
    assert set(results) == set(targets), f"probe answered {results} for {targets}: {logs}"
    return results


def ensure_namespace(stack: Stack, namespace: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    stack.kube.apply(json.dumps(manifest), step=f"namespace {namespace}")
