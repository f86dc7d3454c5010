"""Keep the kind cluster's address ranges on this machine (the project's network rule).

A kind node is a container on Docker's `kind` network; whatever it cannot deliver itself
goes to this host, which would route it on to the default gateway. Guard routes make packets
for the pod and service ranges die here, and a DOCKER-USER rule stops pod-addressed packets
from being forwarded anywhere (the ptp CNI config does not masquerade them).
"""

from __future__ import annotations

from tests.support.kind.nodeimage import POD_SUBNET, SERVICE_SUBNET
from todo_deploy.base.run import Runner

GUARD_METRIC = "4000"  # below any real route to the same range (the host provider's too)
DOCKER_USER = "DOCKER-USER"  # Docker's hook for forwarding rules of one's own
FORWARD_RULES = (("-s", POD_SUBNET, "-j", "REJECT"), ("-d", POD_SUBNET, "-j", "REJECT"))


def guard(runner: Runner) -> str:
    """Idempotent; needs root."""
    for cidr in (POD_SUBNET, SERVICE_SUBNET):
        route = ["unreachable", cidr, "metric", GUARD_METRIC]
        runner.run(["ip", "route", "replace", *route], step=f"guard route {cidr}")
    iptables = ["iptables", "-w", "5"]
    if not runner.run([*iptables, "-n", "-L", DOCKER_USER], step="check", check=False).ok:
        runner.run([*iptables, "-N", DOCKER_USER], step=f"create {DOCKER_USER}")
    for rule in FORWARD_RULES:
        if not runner.run([*iptables, "-C", DOCKER_USER, *rule], step="check", check=False).ok:
            runner.run([*iptables, "-I", DOCKER_USER, *rule], step="pod addresses stay in nodes")
    return f"{POD_SUBNET} and {SERVICE_SUBNET} stay on this machine"
