"""A deploy whose release would render exactly what is deployed changes nothing: no upgrade,
and the chart's test runs once per revision, not on every such deploy."""

from __future__ import annotations

import json

import yaml

from tests.support.fakes import FakeHostProvider, Harness
from todo_deploy.base.run import Result
from todo_deploy.flow import lifecycle as flow

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "todo-mcp"}}
TEST_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "todo-test-health", "annotations": {"helm.sh/hook": "test"}},
}


def _status(phase: str) -> dict:
    hooks = [{"name": "todo-test-health", "events": ["test"], "last_run": {"phase": phase}}]
    return {"name": "todo", "version": 7, "info": {"status": "deployed"}, "hooks": hooks}


def _deploy(h: Harness, rendered: list[dict], deployed: list[dict], phase: str = "Succeeded"):
    h.fake.on("helm", "status", stdout=_status(phase))
    h.fake.on("helm", "template", stdout=yaml.safe_dump_all(rendered))
    h.fake.on("helm", "get", "manifest", stdout=yaml.safe_dump_all(deployed))
    config = h.config(provider="host")
    return flow.deploy(h.target(config, FakeHostProvider()), hooks=h.hooks())


def _ran(h: Harness, verb: str) -> bool:
    return any(line.startswith("helm") and f" {verb} " in f"{line} " for line in h.fake.lines)


def test_a_release_deployed_as_rendered_is_not_upgraded_nor_tested_again(
    harness: Harness,
) -> None:
    h = harness
    report = _deploy(h, [DEPLOYMENT, TEST_POD], [DEPLOYMENT])  # hooks are not in the manifest
    assert not _ran(h, "upgrade") and not _ran(h, "test")
    assert "release todo unchanged (revision 7)" in h.everything_shown()
    assert [s.name for s in report.steps][-1] == "verify"  # still checked through the ingress


def test_an_unchanged_release_whose_test_did_not_pass_is_tested(harness: Harness) -> None:
    h = harness
    _deploy(h, [DEPLOYMENT], [DEPLOYMENT], phase="Failed")
    assert not _ran(h, "upgrade") and _ran(h, "test")


def test_any_difference_upgrades_and_tests(harness: Harness) -> None:
    h = harness
    changed = {**DEPLOYMENT, "spec": {"replicas": 2}}
    _deploy(h, [changed], [DEPLOYMENT])
    assert _ran(h, "upgrade") and _ran(h, "test")


def test_an_object_deleted_from_the_cluster_is_put_back_by_an_upgrade(harness: Harness) -> None:
    """Helm's record matches the render, but someone deleted an object (a NetworkPolicy)."""
    h = harness
    h.fake.on("get", "-f", "-", "-o", "name", rc=1, stderr='networkpolicies "todo-mcp" not found')
    _deploy(h, [DEPLOYMENT], [DEPLOYMENT])
    assert _ran(h, "upgrade")
    asked = next(c for c in h.fake.calls if c.line.endswith("get -f - -o name"))
    assert json.loads(asked.stdin or "{}")["items"] == [DEPLOYMENT]


def test_an_unchanged_release_still_waits_for_its_pods_after_a_cluster_restart(
    harness: Harness,
) -> None:
    """As `helm upgrade --wait` did: the pods of a restarted cluster are still starting."""
    h = harness
    seen = {"polls": 0}

    def readiness(argv: tuple[str, ...], stdin: str | None) -> Result:
        seen["polls"] += 1
        ready = 2 if seen["polls"] > 2 else 0
        item = {
            "kind": "Deployment",
            "metadata": {"name": "todo-backend"},
            "spec": {"replicas": 2},
            "status": {"readyReplicas": ready},
        }
        return Result(argv, 0, json.dumps({"items": [item]}))

    h.fake.answer("get", "deployments,statefulsets", by=readiness)
    report = _deploy(h, [DEPLOYMENT], [DEPLOYMENT])
    assert not _ran(h, "upgrade")
    assert seen["polls"] >= 3 and all(step.status == "ok" for step in report.steps)
    assert "waiting up to 300 s for the workloads to be ready" in h.everything_shown()
