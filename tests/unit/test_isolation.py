"""The isolation check's judgement, on recorded probe output and policy lists (the probes
themselves run against the real cluster in the e2e session)."""

from __future__ import annotations

import pytest

from todo_deploy.day2.isolation import (
    IsolationError,
    Verdict,
    failure_message,
    judge,
    parse_results,
    probe_pod,
    protected_components,
)

ALL = ("frontend", "backend", "mcp", "postgres")
MCP = "todo-mcp.todo-app.svc:8001"
DB = "todo-postgres.todo-app.svc:5432"


def test_probe_output_is_read_per_address():
    logs = f"some warning\nprobe {MCP} blocked\nprobe {DB} open\n"
    assert parse_results(logs, [MCP, DB]) == {MCP: "blocked", DB: "open"}


def test_a_probe_that_did_not_answer_for_every_address_is_an_error():
    with pytest.raises(IsolationError, match="answered"):
        parse_results(f"probe {MCP} blocked\n", [MCP, DB])


def test_every_component_must_refuse_outsiders_and_the_private_ones_admit_the_back_end():
    outside = {"frontend": "open", "backend": "blocked", "mcp": "blocked", "postgres": "open"}
    verdicts = judge(outside, {"mcp": "open", "postgres": "blocked"})
    failed = {(v.source, v.target) for v in verdicts if not v.ok}
    assert failed == {
        ("outside the app", "frontend"),
        ("outside the app", "postgres"),
        ("as the back end", "postgres"),
    }


def test_a_front_end_open_to_outsiders_while_the_private_ones_hold_names_the_peers_value():
    outside = {"frontend": "open", "backend": "open", "mcp": "blocked", "postgres": "blocked"}
    verdicts = judge(outside, {"mcp": "open", "postgres": "open"})
    message = failure_message(verdicts, set(ALL))
    assert "networkPolicy.ingressControllerPeers" in message
    assert "frontend and backend" in message and "does not enforce" not in message


def _policy(selector: dict, types: list[str] | None = None) -> dict:
    spec: dict = {"podSelector": selector}
    if types is not None:
        spec["policyTypes"] = types
    return {"spec": spec}


def test_protected_components_come_from_ingress_policies():
    mcp_only = _policy({"matchLabels": {"app.kubernetes.io/component": "mcp"}})
    egress = _policy({}, ["Egress"])
    assert protected_components({"items": [mcp_only, egress]}, ALL) == {"mcp"}
    assert "postgres" in protected_components({"items": [_policy({}, ["Ingress"])]}, ALL)
    assert protected_components({}, ALL) == set()


def test_the_message_tells_missing_policies_from_a_plugin_that_ignores_them():
    leak = [Verdict("outside the app", "mcp", "open", "blocked")]
    assert "does not enforce NetworkPolicy" in failure_message(leak, {"mcp"})
    assert "--cni=calico" in failure_message(leak, {"mcp"})
    missing = failure_message(leak, set())
    assert "no NetworkPolicy protects mcp" in missing and "enforce" not in missing
    refused = [Verdict("as the back end", "postgres", "blocked", "open")]
    assert "the app itself is blocked" in failure_message(refused, {"postgres"})


def test_the_probe_pod_is_admitted_by_the_restricted_pod_security_level():
    pod = probe_pod("p", "ns", {"a": "b"}, "todo-backend:1", [MCP])
    spec = pod["spec"]
    (container,) = spec["containers"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["command"][-1] == MCP
