"""After the release: every workload ready, then /health answered through the ingress."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from todo_deploy.base.kube import Helm, Kube, wait_until
from todo_deploy.base.run import Result
from todo_deploy.day2.portforward import port_forward
from todo_deploy.providers.base import IngressAccess
from todo_deploy.steps.target import Target

HttpGet = Callable[[str, str], int]  # (url, Host header) -> status code; 0 when unreachable


class VerifyError(RuntimeError):
    pass


@dataclass(frozen=True)
class Verified:
    workloads: dict[str, str]  # workload ("deployment/NAME") -> "ready/wanted"
    health_url: str
    via: str  # "ingress" or "port-forward"


def http_get(url: str, host: str) -> int:
    try:
        return requests.get(url, headers={"Host": host}, timeout=5).status_code
    except requests.RequestException:
        return 0


def workload_readiness(kube: Kube) -> dict[str, tuple[int, int]]:
    """name -> (ready, wanted) for every Deployment and StatefulSet in the namespace."""
    listing = kube.get_json("deployments,statefulsets", step="workload readiness") or {}
    readiness = {}
    for item in listing.get("items", []):
        name = f"{item['kind'].lower()}/{item['metadata']['name']}"
        wanted = item.get("spec", {}).get("replicas", 1)
        readiness[name] = (item.get("status", {}).get("readyReplicas", 0), wanted)
    return readiness


def wait_ready(kube: Kube, timeout: float, say: Callable[[str], None]) -> None:
    """Wait (as `helm upgrade --wait` would) until every workload is ready: after a cluster
    restart an unchanged release's pods are still starting."""
    if kube.runner.dry_run:
        return

    def ready() -> bool:
        readiness = workload_readiness(kube)
        return bool(readiness) and all(r >= w for r, w in readiness.values())

    if ready():
        return
    say(f"  waiting up to {timeout:.0f} s for the workloads to be ready")
    wait_until(ready, timeout=timeout, interval=1.0)


def check_workloads(kube: Kube) -> dict[str, str]:
    readiness = workload_readiness(kube)
    if not readiness:
        raise VerifyError(f"no Deployment or StatefulSet found in namespace {kube.namespace}")
    not_ready = [f"{n} {r}/{w}" for n, (r, w) in readiness.items() if r < w]
    if not_ready:
        raise VerifyError(f"not ready: {', '.join(not_ready)}; run `invoke doctor`")
    return {n: f"{r}/{w}" for n, (r, w) in readiness.items()}


def verify(
    target: Target,
    access: IngressAccess,
    *,
    get: HttpGet = http_get,
    health_timeout: float = 30,
    sleep: Callable[[float], None] = time.sleep,
    alongside: Callable[[], object] | None = None,
) -> Verified:
    """Every workload ready, then /health of the back end through the ingress (or, when the
    ingress is not reachable from here or the cluster has none, through a port-forward to its
    Service).

    `alongside` (the chart's `helm test`) runs meanwhile, once the workloads are ready: its pod
    takes seconds to start, and the ingress's route to the new pods as long. Its error, if
    any, is raised once the check through the ingress is done.
    """
    workloads = check_workloads(target.kube)
    if alongside is None:
        return _answers(target, access, workloads, get, health_timeout, sleep)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify") as pool:
        beside = pool.submit(alongside)
        verified = _answers(target, access, workloads, get, health_timeout, sleep)
        beside.result()
    return verified


def _answers(
    target: Target,
    access: IngressAccess,
    workloads: dict[str, str],
    get: HttpGet,
    health_timeout: float,
    sleep: Callable[[float], None],
) -> Verified:
    kube, backend = target.kube, target.catalogue["backend"]
    url = f"{access.url}/health"
    answers: list[int] = []

    def healthy_through_ingress() -> bool:
        answers.append(get(url, access.host))
        return answers[-1] == 200

    if access.reachable and wait_until(
        healthy_through_ingress, timeout=health_timeout, sleep=sleep
    ):
        return Verified(workloads, url, "ingress")
    if answers and answers[-1]:
        # The controller answers, but not with the app: a route it does not serve (a missing
        # middleware, another class) is a failure a port-forward would hide.
        raise VerifyError(
            f"the ingress answered {answers[-1]} for {url} (Host {access.host}), not the app's "
            "200: its controller does not serve the app's routes; its log says why "
            "(`invoke doctor` shows the Ingress and its events)"
        )
    # The ingress may be unreachable from this host (e.g. no tunnel); the Service still answers.
    with port_forward(kube, backend.service, backend.port) as port:
        local = f"http://127.0.0.1:{port}/health"
        if wait_until(lambda: get(local, "127.0.0.1") == 200, timeout=health_timeout, sleep=sleep):
            return Verified(workloads, local, "port-forward")
    raise VerifyError(
        f"/health did not answer 200 through {url} (Host {access.host}) "
        f"nor through a port-forward to {backend.service}; run `invoke doctor`"
    )


HELM_TEST_TIMEOUT = 120


def helm_test(helm: Helm, release: str) -> Result:
    """The chart's own test hook (a pod calling /health and /ready from inside the cluster).

    `--logs` prints the test pod's output, so a failure says which URL answered what.
    """
    return helm.run(
        "test", release, "--timeout", f"{HELM_TEST_TIMEOUT}s", "--logs",
        step="helm test", timeout=HELM_TEST_TIMEOUT + 30,
    )  # fmt: skip
