"""`--method kubectl` applies k8s/ retargeted to this cluster: the chart must agree with it.

k8s/ is rendered for the default ingress host on port 80. On a cluster whose ingress is
elsewhere (kind's 8080, a custom `ingress_host`), the suite rewrites the public URL the way the
chart's `ingress.host` and `ingress.publicPort` would: these tests render the chart with those
values and compare, so the two cannot drift apart.
"""

from __future__ import annotations

import pytest

from todo_deploy.steps import manifests
from todo_deploy.steps.install import (
    CONFIG_DIGEST_ANNOTATION,
    load_manifests,
    public_url,
    retarget,
)

HOST, PORT = "todo.test", 8080


def _by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def _config_digests(docs: list[dict]) -> dict[str, str | None]:
    return {
        d["metadata"]["name"]: (d["spec"]["template"]["metadata"].get("annotations") or {}).get(
            CONFIG_DIGEST_ANNOTATION
        )
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
    }


@pytest.mark.parametrize("port", [PORT, 80])
def test_the_public_url_is_the_charts(render, port: int) -> None:
    chart = render(
        [manifests.DEV_VALUES],
        {"ingress.host": HOST, "ingress.publicPort": str(port)},
    )
    ours = retarget(
        load_manifests(str(manifests.K8S_DIR)), {}, "nginx", host=HOST, public_port=port
    )
    [chart_config], [our_config] = _by_kind(chart, "ConfigMap"), _by_kind(ours, "ConfigMap")
    assert our_config["data"] == chart_config["data"]
    assert our_config["data"]["BETTER_AUTH_URL"] == public_url(HOST, port)
    rules = {
        name: {i["metadata"]["name"]: i["spec"]["rules"] for i in _by_kind(objects, "Ingress")}
        for name, objects in (("chart", chart), ("ours", ours))
    }
    assert len(rules["chart"]) == 2 and rules["ours"] == rules["chart"]


def test_a_new_public_url_rolls_the_pods_that_read_the_config() -> None:
    rendered = load_manifests(str(manifests.K8S_DIR))
    before = _config_digests(rendered)
    same = _config_digests(
        retarget(load_manifests(str(manifests.K8S_DIR)), {}, "nginx", host="todo.local")
    )
    assert same == before  # the URL k8s/ was rendered for: nothing to roll
    moved = _config_digests(
        retarget(load_manifests(str(manifests.K8S_DIR)), {}, "nginx", host=HOST, public_port=PORT)
    )
    readers = {name for name, digest in before.items() if digest}
    assert readers >= {"todo-frontend", "todo-backend"}
    assert {name for name in readers if moved[name] != before[name]} == readers
    assert all(moved[name] is None for name in before.keys() - readers)  # e.g. the database
