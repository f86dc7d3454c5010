"""A normal user's path on kind, from a fresh clone, in order: deploy, use, change one service,
isolation, teardown keeping data and redeploy, the registry path, delete the cluster; then a
kind cluster the user made themselves, used as it is.

The user is not root: it is in the `docker` group, has helm, kubectl and kind on its PATH and no
npm, and runs `uv run --frozen invoke ... --provider kind` as the README says. Tests share one
cluster and run in file order (`-x`: each step needs the ones before it).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from tests.e2e.app_client import AppClient
from tests.e2e.figures import Figure
from tests.kind import infra
from tests.kind.conftest import CLUSTER, Laptop
from tests.support import nonroot
from tests.support.secret_scan import deployed_secrets_and_logs, scan_texts
from tests.support.signals import stop_group

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

COMPONENTS = ("frontend", "backend", "mcp", "postgres")


def _ok(proc) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr}"


def _pods(laptop: Laptop) -> list[dict]:
    data = laptop.kube.get_json("pods", step="pods")
    assert data is not None, "cannot list pods"
    return [p for p in data["items"] if p["metadata"].get("deletionTimestamp") is None]


def _pod_uids(laptop: Laptop) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for pod in _pods(laptop):
        if pod["status"].get("phase") == "Running":
            component = pod["metadata"]["labels"].get("component", "?")
            found.setdefault(component, set()).add(pod["metadata"]["uid"])
    return found


def _client(laptop: Laptop) -> AppClient:
    return AppClient(laptop.access.url, laptop.access.host)


def _kind_loads(output: str) -> list[str]:
    return [line for line in output.splitlines() if "kind load docker-image" in line]


def test_cluster_up_creates_the_kind_cluster(laptop: Laptop, figures) -> None:
    seconds, proc = laptop.invoke("cluster.up", "-v")
    _ok(proc)
    figures.record(
        Figure(
            "invoke cluster.up: kind create (cached node image), node Ready, Traefik", seconds, "s"
        )
    )
    assert "kind create cluster --name todo" in proc.stdout
    nodes = laptop.kube.get_json("nodes", step="nodes", namespaced=False) or {"items": []}
    ready = [
        c["status"]
        for n in nodes["items"]
        for c in n["status"]["conditions"]
        if c["type"] == "Ready"
    ]
    assert ready == ["True"], f"node not Ready: {ready}"
    assert nodes["items"][0]["metadata"]["labels"].get("ingress-ready") == "true"
    traefik = laptop.kube.get_json(
        "deployment", "traefik", "--namespace=traefik", step="traefik", namespaced=False
    )
    assert traefik is not None and traefik["status"].get("readyReplicas") == 1


def test_deploy_serves_the_app(laptop: Laptop, figures) -> None:
    seconds, proc = laptop.invoke("deploy", "-v")
    _ok(proc)
    figures.record(
        Figure(
            "deploy to the new cluster (kind load of 4 images, release)", seconds, "s", budget=300
        )
    )
    assert "kind create" not in proc.stdout  # the cluster was there already
    components = {p["metadata"]["labels"].get("component") for p in _pods(laptop)}
    assert components >= set(COMPONENTS)
    loads = _kind_loads(proc.stdout)
    assert len(loads) == 1 and all(f"todo-{c}:" in loads[0] for c in COMPONENTS), loads


def test_the_user_fetched_no_binary_and_has_no_npm(laptop: Laptop) -> None:
    assert nonroot.fetched_binaries(laptop.user) == []
    which = laptop.user.run(["sh", "-c", "command -v npm || echo none"])
    assert which.stdout.strip() == "none", which.stdout
    whoami = laptop.user.run(["python3", "-c", "import os; print(os.geteuid())"])
    assert whoami.stdout.strip() != "0"


def test_dns_and_the_app_through_the_ingress(laptop: Laptop) -> None:
    client = _client(laptop)
    for path in ("/health", "/ready", "/api/health", "/"):
        response = client.request("GET", path)
        assert response.status_code == 200, (
            f"{path} via {laptop.access.url}: {response.status_code}"
        )
    # The back end reaches PostgreSQL and MCP by Service name: cluster DNS works.
    client.sign_up()
    client.fetch_token()
    reply = client.request("POST", f"/api/{client.user_id}/chat", json={"message": "add buy milk"})
    assert reply.status_code == 200, reply.text
    assert [c["name"] for c in reply.json()["tool_calls"]] == ["add_task"]
    titles = [t["title"] for t in client.request("GET", client.tasks_path()).json()]
    assert titles == ["buy milk"]


def test_one_service_change_rolls_only_it(laptop: Laptop, figures) -> None:
    before = _pod_uids(laptop)
    marker = laptop.user.clone / "mcp" / "todo_mcp" / "e2e_change.py"
    laptop.user.run(["sh", "-c", f"printf 'STAMP = {time.time()!r}\\n' > {marker}"])
    try:
        seconds, proc = laptop.invoke("deploy", "-v")
    finally:
        marker.unlink(missing_ok=True)
    _ok(proc)
    after = _pod_uids(laptop)
    assert after["mcp"].isdisjoint(before["mcp"]), "the MCP pods did not roll"
    for component in ("frontend", "backend", "postgres"):
        assert after[component] == before[component], f"{component} rolled without a change"
    loads = _kind_loads(proc.stdout)
    assert len(loads) == 1 and "todo-mcp:" in loads[0], f"loaded more than MCP: {loads}"
    assert not any(f"todo-{c}:" in loads[0] for c in ("frontend", "backend", "postgres"))
    figures.record(Figure("redeploy after a one-service change (MCP)", seconds, "s", goal=60))


def test_isolation_is_enforced(laptop: Laptop, figures) -> None:
    started = time.monotonic()
    infra.enforce_network_policies(laptop.kube, CLUSTER)
    figures.record(
        Figure(
            "NetworkPolicy enforcement installed (test support)", time.monotonic() - started, "s"
        )
    )
    seconds, proc = laptop.invoke("isolation")
    _ok(proc)
    assert "isolation: enforced" in proc.stdout
    figures.record(Figure("invoke isolation", seconds, "s"))


def test_teardown_keeps_data_and_redeploy_finds_it(laptop: Laptop, figures) -> None:
    client = _client(laptop)
    credentials = client.sign_up()
    client.fetch_token()
    created = client.request("POST", client.tasks_path(), json={"title": "survives teardown"})
    assert created.status_code in (200, 201), created.text
    seconds, proc = laptop.invoke("teardown")
    _ok(proc)
    figures.record(Figure("teardown (namespace gone, data kept)", seconds, "s", goal=60))
    assert laptop.kube.get_json("namespace", "todo-app", step="ns", namespaced=False) is None
    seconds, proc = laptop.invoke("deploy")
    _ok(proc)
    figures.record(Figure("redeploy after teardown (images on the node)", seconds, "s"))
    again = _client(laptop)
    again.sign_in(**credentials)
    again.fetch_token()
    titles = [t["title"] for t in again.request("GET", again.tasks_path()).json()]
    assert titles == ["survives teardown"]


def test_registry_path_pods_pull_from_the_local_registry(laptop: Laptop, figures) -> None:
    registry = infra.ensure_registry(laptop.kube.runner)
    env = {**laptop.env, "INVOKE_DEPLOY_KIND_REGISTRY_ENDPOINT": registry.endpoint}
    started = time.monotonic()
    proc = laptop.user.invoke("deploy", "-v", "--provider", "kind", "--registry",
                              f"{registry.address}/todo", env=env)[1]  # fmt: skip
    seconds = time.monotonic() - started
    laptop.outputs["invoke deploy --registry"] = proc.stdout + proc.stderr
    _ok(proc)
    figures.record(Figure("deploy with --registry (push, nodes pull)", seconds, "s"))
    assert not _kind_loads(proc.stdout), "images were loaded, not pulled"
    pushed = [line for line in proc.stdout.splitlines() if "docker push" in line]
    assert len(pushed) == len(COMPONENTS), pushed
    for pod in _pods(laptop):
        # The spec names the image (the status may show another name of the same image ID).
        for container in pod["spec"]["containers"]:
            assert container["image"].startswith(f"{registry.address}/todo/"), container["image"]
        assert all(s["ready"] for s in pod["status"]["containerStatuses"]), pod["metadata"]["name"]
    events = laptop.kube.get_json("events", step="events") or {"items": []}
    pulled = [
        e
        for e in events["items"]
        if e.get("reason") == "Pulled"
        and f"{registry.address}/todo/" in e.get("message", "")
        and "already present" not in e.get("message", "")
    ]
    assert pulled, "no pod pulled an image from the registry"
    assert _client(laptop).request("GET", "/health").status_code == 200


def test_kubectl_method_serves_the_configured_host(laptop: Laptop, figures) -> None:
    """k8s/ is rendered for todo.local: the kubectl method points the Ingress and sign-in's
    trusted origins at the configured host (and port), as the chart's values would."""
    host = "todo-kubectl.test"
    env = {**laptop.env, "INVOKE_DEPLOY_INGRESS_HOST": host}
    seconds, proc = laptop.user.invoke("deploy", "--provider", "kind", "--method", "kubectl",
                                       env=env)  # fmt: skip
    laptop.outputs["invoke deploy --method kubectl"] = proc.stdout + proc.stderr
    _ok(proc)
    figures.record(Figure("deploy --method kubectl, another host (over the helm release)",
                          seconds, "s"))  # fmt: skip
    port = urlsplit(laptop.access.url).port or 80
    suffix = "" if port == 80 else f":{port}"
    page = AppClient(laptop.access.url, host, origin=f"http://{host}{suffix}")
    page.sign_up()
    page.fetch_token()
    assert page.request("GET", page.tasks_path()).status_code == 200
    # The origin k8s/ was rendered with is no longer trusted: better-auth refuses it.
    rendered = AppClient(laptop.access.url, host, origin=f"http://todo.local{suffix}")
    with pytest.raises(requests.HTTPError) as refused:
        rendered.sign_up()
    assert refused.value.response.status_code == 403


def test_no_secret_in_what_the_user_saw_or_the_pod_logs(laptop: Laptop) -> None:
    values, logs = deployed_secrets_and_logs(laptop.kube, _pods(laptop))
    assert values, "no secret values to look for"
    texts = {**laptop.outputs, **logs}
    report = laptop.user.clone / "build" / "deploy-report.json"
    texts["deploy-report.json"] = report.read_text()
    assert scan_texts(texts, values) == []


def test_teardown_cluster_deletes_it(laptop: Laptop, figures) -> None:
    seconds, proc = laptop.invoke("teardown", "--cluster")
    _ok(proc)
    figures.record(Figure("teardown --cluster (kind delete)", seconds, "s"))
    clusters = laptop.user.run(["kind", "get", "clusters"], env=laptop.env)
    assert CLUSTER not in clusters.stdout.split()
    assert nonroot.fetched_binaries(laptop.user) == []


def _forwarded_url(forward: subprocess.Popen, seen: list[str], timeout: float = 60) -> str:
    """The 127.0.0.1 URL `invoke port-forward` says answers, once kubectl listens."""
    deadline = time.monotonic() + timeout
    assert forward.stdout is not None
    while time.monotonic() < deadline:
        line = forward.stdout.readline()
        if not line:
            break  # it exited
        seen.append(line)
        if line.startswith("ready: http://127.0.0.1:"):
            return line.split()[1].rstrip("/")
    raise AssertionError("invoke port-forward printed no URL:\n" + "".join(seen))


def test_a_kind_cluster_the_user_made_is_used_as_it_is(laptop: Laptop, figures) -> None:
    """What most kind users have: `kind create cluster` (name kind, context kind-kind, no port
    mappings, no ingress controller). `invoke deploy` with no provider must pick it as
    `existing`, load the images with `kind load`, and the app opens through the port-forward
    the report names."""
    env = laptop.env
    # CI only: the offline node image, and its CNI settings in a whole kind config.
    image = env["INVOKE_DEPLOY_KIND_NODE_IMAGE"]
    config = laptop.user.home / "kind-own.yaml"
    ci_settings = yaml.safe_load(Path(env["INVOKE_DEPLOY_KIND_CONFIG_FILE"]).read_text())
    whole = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", **ci_settings}
    config.write_text(yaml.safe_dump(whole))
    started = time.monotonic()
    made = laptop.user.run(["kind", "create", "cluster", "--image", image, "--config", str(config)],
                           env=env, timeout=600)  # fmt: skip
    _ok(made)
    figures.record(Figure("the user's own `kind create cluster`", time.monotonic() - started, "s"))
    try:
        seconds, proc = laptop.user.invoke("deploy", "-v", env=env)
        laptop.outputs["invoke deploy (the user's own kind cluster)"] = proc.stdout + proc.stderr
        print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n")
        _ok(proc)
        figures.record(
            Figure("deploy to the user's own kind cluster (auto: existing)", seconds, "s")
        )
        assert (
            "provider: existing (auto: the current context kind-kind is a local cluster)"
            in proc.stdout
        )
        loads = _kind_loads(proc.stdout)
        assert len(loads) == len(COMPONENTS) and all("--name kind " in line for line in loads), (
            loads
        )
        assert "invoke port-forward -c frontend" in proc.stdout  # the report says how to open it
        _the_app_opens_through_the_port_forward(laptop)
    finally:
        deleted = laptop.user.run(["kind", "delete", "cluster", "--name", "kind"], env=env)
    _ok(deleted)


def _the_app_opens_through_the_port_forward(laptop: Laptop) -> None:
    argv = ["uv", "run", "--frozen", "invoke", "port-forward", "-c", "frontend"]
    forward = laptop.user.spawn(argv, env=laptop.env)
    seen: list[str] = []
    try:
        url = _forwarded_url(forward, seen)
        origin = urlsplit(url).netloc
        page = AppClient(url, origin, origin=url)
        assert page.request("GET", "/api/health").status_code == 200
        page.sign_up()
        page.fetch_token()
        assert page.request("GET", page.tasks_path()).status_code == 200
    finally:
        stop_group(forward, grace=20)


def test_figures_within_budget(figures) -> None:
    over = figures.over_budget()
    assert not over, "over budget: " + json.dumps([f.__dict__ for f in over])
