"""components.yaml is the chart's one list of components: a port or a component is changed
there alone, and every object follows."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from typing import Any

import yaml

from tests.support import chart_checks, chart_copy
from todo_deploy.base import catalogue
from todo_deploy.base.run import Runner
from todo_deploy.steps import manifests

TEMPLATES = manifests.CHART_DIR / "templates"


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def scalars(node: Any) -> Iterator[str]:
    """Every value in an object (keys too), as text."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from scalars(value)
    elif isinstance(node, list):
        for item in node:
            yield from scalars(item)
    else:
        yield str(node)


def naming(objects, port: int) -> set[tuple[str, str]]:
    """(kind, name) of every object with the port in it as a number of its own: not inside a
    checksum or a word. Secrets are left out: their values are random base64."""
    number = re.compile(rf"(?<![\w.]){port}(?!\w)")
    return {
        (o["kind"], o["metadata"]["name"])
        for o in objects
        if o["kind"] != "Secret" and any(number.search(text) for text in scalars(o))
    }


def container(objects, name: str) -> dict:
    (found,) = by_kind(objects, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
    return found


def test_a_port_changed_in_the_manifest_reaches_every_object_that_names_it(tools, tmp_path):
    chart = chart_copy.copy_chart(tmp_path)
    before = manifests.template([], tools=tools, chart=chart)
    chart_copy.set_port(chart, "backend", 8123)
    after = manifests.template([], tools=tools, chart=chart)

    assert naming(after, 8000) == set()
    assert naming(after, 8123) == naming(before, 8000)
    backend = container(after, "todo-backend")
    assert backend["ports"] == [{"name": "http", "containerPort": 8123, "protocol": "TCP"}]
    assert {"name": "UVICORN_PORT", "value": "8123"} in backend["env"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert backend[probe]["httpGet"]["port"] == "http"  # the named port above
    (service_port,) = by_kind(after, "Service")["todo-backend"]["spec"]["ports"]
    assert (service_port["port"], service_port["targetPort"]) == (8123, "http")
    routes = [
        path["backend"]["service"]
        for ingress in by_kind(after, "Ingress").values()
        for path in ingress["spec"]["rules"][0]["http"]["paths"]
    ]
    assert {r["port"]["number"] for r in routes if r["name"] == "todo-backend"} == {8123}
    assert by_kind(after, "ConfigMap")["todo-config"]["data"]["BACKEND_URL"] == (
        "http://todo-backend:8123"
    )
    (rule,) = by_kind(after, "NetworkPolicy")["todo-backend"]["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8123, "protocol": "TCP"}]
    (pod,) = by_kind(after, "Pod").values()
    script = pod["spec"]["containers"][0]["command"][-1]
    assert (
        "http://todo-backend:8123/health" in script and "http://todo-backend:8123/ready" in script
    )


def test_a_component_added_to_the_manifest_is_rendered_wired_and_valid(tools, tmp_path):
    chart = chart_copy.copy_chart(tmp_path)
    chart_copy.add_component(chart)
    objects = manifests.template([], tools=tools, chart=chart)

    worker = container(objects, "todo-worker")
    # Not sized or tagged by values.yaml: the chart's fallbacks.
    assert worker["image"] == "todo-worker:0.1.0"
    assert worker["ports"][0]["containerPort"] == 8100
    assert {"name": "PORT", "value": "8100"} in worker["env"]
    assert worker["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "256Mi"},
    }
    deployment = by_kind(objects, "Deployment")["todo-worker"]
    assert deployment["spec"]["replicas"] == 1
    (service_port,) = by_kind(objects, "Service")["todo-worker"]["spec"]["ports"]
    assert service_port["port"] == 8100
    policies = by_kind(objects, "NetworkPolicy")
    (rule,) = policies["todo-postgres"]["spec"]["ingress"]
    peers = rule["from"][0]["podSelector"]["matchExpressions"][1]["values"]
    assert "worker" in peers
    # Nothing talks to the worker: no rule admits anyone to it (the default policy denies).
    assert "todo-worker" not in policies
    assert chart_checks.validate_objects(("worker", o) for o in objects) == []


def test_an_added_component_can_be_sized_and_tagged_and_a_misspelt_one_is_refused(tools, tmp_path):
    chart = chart_copy.copy_chart(tmp_path)
    chart_copy.add_component(chart)
    values = tmp_path / "worker-values.yaml"
    values.write_text(
        "images: {worker: {repository: reg/worker, tag: abc}}\nreplicas: {worker: 3}\n"
    )
    objects = manifests.template([values], tools=tools, chart=chart)
    assert container(objects, "todo-worker")["image"] == "reg/worker:abc"
    assert by_kind(objects, "Deployment")["todo-worker"]["spec"]["replicas"] == 3
    misspelt = Runner().run(
        [str(tools.helm), "template", "todo", str(chart), "--set", "replicas.wroker=1"],
        check=False,
        mutating=False,
    )
    assert misspelt.returncode != 0
    assert "replicas.wroker names no component of components.yaml" in misspelt.stderr


def test_no_template_writes_a_components_port():
    ports = {int(spec["port"]) for spec in catalogue.read_manifest()["components"].values()}
    found = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(re.search(rf"(?<![\w.]){port}(?!\w)", line) for port in ports)
    ]
    assert found == [], "ports belong in components.yaml:\n" + "\n".join(found)


def test_the_packaged_chart_carries_its_manifest(tools, tmp_path):
    Runner().run(
        [str(tools.helm), "package", str(manifests.CHART_DIR), "--destination", str(tmp_path)],
        mutating=False,
    )
    (package,) = tmp_path.glob("todo-app-*.tgz")
    with tarfile.open(package) as tar:
        packed = tar.extractfile(f"todo-app/{catalogue.MANIFEST}")
        assert packed is not None
        shipped = yaml.safe_load(packed.read())
    assert shipped == catalogue.read_manifest()


def test_the_manifests_routes_are_the_ingress_routes(render):
    """The Ingress is drawn from `ingresses`, in order: each route to its component's port."""
    manifest = catalogue.read_manifest()
    ports = {name: spec["port"] for name, spec in manifest["components"].items()}
    ingresses = by_kind(render([]), "Ingress")
    for ingress in manifest["ingresses"]:
        paths = ingresses[f"todo-{ingress['name']}"]["spec"]["rules"][0]["http"]["paths"]
        assert [(p["path"], p["pathType"], p["backend"]["service"]) for p in paths] == [
            (
                r["path"],
                r["pathType"],
                {"name": f"todo-{r['to']}", "port": {"number": ports[r["to"]]}},
            )
            for r in ingress["routes"]
        ]
