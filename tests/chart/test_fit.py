"""The whole stack's requests fit a 2-CPU, 4 GiB node next to the system pods."""

from __future__ import annotations

import pytest

from tests.support import chart_checks

NODE_CPU_MILLI = 2000
NODE_MEMORY = 4 * 1024**3
# Minikube's control plane, CoreDNS and the ingress controller request about this much.
SYSTEM_CPU_MILLI = 850
SYSTEM_MEMORY = 1024**3
UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3}


def cpu_milli(quantity) -> int:
    text = str(quantity)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def memory_bytes(quantity) -> int:
    text = str(quantity)
    for suffix, factor in UNITS.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def pod_requests(pod_spec) -> tuple[int, int]:
    """What the scheduler reserves: the larger of the app containers' sum and any init container."""

    def total(containers):
        reqs = [c["resources"]["requests"] for c in containers]
        return sum(cpu_milli(r["cpu"]) for r in reqs), sum(memory_bytes(r["memory"]) for r in reqs)

    cpu, mem = total(pod_spec["containers"])
    for init in pod_spec.get("initContainers", []):
        init_cpu, init_mem = total([init])
        cpu, mem = max(cpu, init_cpu), max(mem, init_mem)
    return cpu, mem


def stack_requests(objects) -> tuple[int, int]:
    """All replicas, plus the largest pod once more: the surge pod of a rolling update."""
    pods = [
        (obj["spec"].get("replicas", 1), pod_requests(obj["spec"]["template"]["spec"]))
        for obj in objects
        if obj["kind"] in ("Deployment", "StatefulSet")
    ]
    cpu = sum(n * c for n, (c, _) in pods) + max(c for _, (c, _) in pods)
    mem = sum(n * m for n, (_, m) in pods) + max(m for _, (_, m) in pods)
    return cpu, mem


@pytest.mark.parametrize("scenario", ["default", "dev"])
def test_stack_fits_a_small_node(render, scenario):
    cpu, mem = stack_requests(render(chart_checks.scenarios()[scenario]))
    assert cpu + SYSTEM_CPU_MILLI <= NODE_CPU_MILLI, f"CPU requests {cpu}m"
    assert mem + SYSTEM_MEMORY <= NODE_MEMORY, f"memory requests {mem / 1024**2:.0f}Mi"


def test_requests_equal_to_limits_would_not_fit(render):
    # The plan's original sizing (CPU requests = limits) is what this test exists to refuse.
    plan = {"frontend": "500m", "backend": "1", "mcp": "500m", "postgresql": "1"}
    cpu, _ = stack_requests(render([], {f"resources.{c}.requests.cpu": v for c, v in plan.items()}))
    assert cpu + SYSTEM_CPU_MILLI > NODE_CPU_MILLI
