"""The node's network: our own bridge, routes that keep cluster ranges local, iptables cleanup.

Network rule: no packet for a cluster range may reach the default gateway. The pod range lives
on the bridge `todo0` (its connected route); the service range is routed onto the same bridge,
so when kube-proxy is down a packet for a ClusterIP dies locally instead of leaving. Under both,
`unreachable` guard routes (metric 4000) stay from the first `up` until `down(delete=True)`:
with the cluster stopped and the bridge gone, a stray `kubectl --context todo-host` or a lookup
at the cluster DNS fails at once instead of going to the gateway. Chain
TODO-HOST-FORWARD confines forwarding to the bridge: nothing a pod sends leaves the host and
nothing from outside is forwarded to a pod.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from todo_deploy.base.run import Runner
from todo_deploy.providers.host.layout import BRIDGE, NODE_IP, POD_CIDR, SERVICE_CIDR

FORWARD_CHAIN = "TODO-HOST-FORWARD"
# Chains the kubelet, kube-proxy and the CNI plugins create, plus ours.
OWNED_PREFIXES = ("KUBE-", "CNI-", "TODO-HOST-")
TABLES = ("filter", "nat", "mangle")
GUARD_METRIC = "4000"
POLICY_TABLE = ("inet", "kube-network-policies")  # made by the kube-network-policies daemon
CLUSTER_RANGES = (POD_CIDR, SERVICE_CIDR)
SYSCTLS = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}


def bridge_exists() -> bool:
    return Path(f"/sys/class/net/{BRIDGE}").exists()


def setup(runner: Runner) -> None:
    """Idempotent: bridge with the node address, service route, sysctls, pod egress filter."""
    # Bridged pod-to-pod traffic must pass iptables for Services to work (br_netfilter).
    runner.run(["modprobe", "br_netfilter"], step="load br_netfilter", check=False)
    for key, value in SYSCTLS.items():
        runner.run(["sysctl", "-q", "-w", f"{key}={value}"], step=f"sysctl {key}")
    for cidr in CLUSTER_RANGES:
        guard = ["unreachable", cidr, "metric", GUARD_METRIC]
        runner.run(["ip", "route", "replace", *guard], step=f"guard route {cidr}")
    if not bridge_exists():
        runner.run(["ip", "link", "add", BRIDGE, "type", "bridge"], step="create bridge")
    prefix = POD_CIDR.split("/")[1]
    runner.run(
        ["ip", "addr", "replace", f"{NODE_IP}/{prefix}", "dev", BRIDGE], step="bridge address"
    )
    runner.run(["ip", "link", "set", BRIDGE, "up"], step="bridge up")
    runner.run(["ip", "route", "replace", SERVICE_CIDR, "dev", BRIDGE], step="service route")
    _forward_filter(runner)


FORWARD_RULES = (
    # Pod to pod across the bridge (Docker sets the FORWARD policy to DROP).
    ("-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"),
    ("-s", POD_CIDR, "!", "-o", BRIDGE, "-j", "REJECT"),
    ("-d", POD_CIDR, "!", "-i", BRIDGE, "-j", "REJECT"),
)


def _forward_filter(runner: Runner) -> None:
    iptables = ["iptables", "-w", "5"]
    exists = runner.run([*iptables, "-n", "-L", FORWARD_CHAIN], step="check", check=False)
    if not exists.ok:
        runner.run([*iptables, "-N", FORWARD_CHAIN], step="create forward chain")
    runner.run([*iptables, "-F", FORWARD_CHAIN], step="reset forward chain")
    for rule in FORWARD_RULES:
        runner.run([*iptables, "-A", FORWARD_CHAIN, *rule], step="pods stay on this host")
    jump = ["FORWARD", "-j", FORWARD_CHAIN]
    if not runner.run([*iptables, "-C", *jump], step="check jump", check=False).ok:
        runner.run([*iptables, "-I", *jump], step="hook forward chain")


def forward_hooked(runner: Runner) -> bool:
    """The pod filter as `setup` left it: every rule in its chain, the chain hooked into FORWARD.
    One read; a firewall reload or `iptables -F` would have dropped either."""
    saved = runner.run(
        ["iptables-save", "-t", "filter"], step="read the forward filter", check=False,
        mutating=False,
    )  # fmt: skip
    lines = saved.stdout.splitlines() if saved.ok else []
    rules = [line for line in lines if line.startswith(f"-A {FORWARD_CHAIN} ")]
    return f"-A FORWARD -j {FORWARD_CHAIN}" in lines and len(rules) == len(FORWARD_RULES)


def teardown(runner: Runner, *, keep_guards: bool) -> None:
    """Remove the bridge (its routes go with it) and every chain the cluster made; the guard
    routes too unless `keep_guards`. Harmless when absent."""
    if bridge_exists():
        runner.run(["ip", "link", "del", BRIDGE], step="remove bridge")
    if not keep_guards:
        for cidr in CLUSTER_RANGES:
            guard = ["unreachable", cidr, "metric", GUARD_METRIC]
            runner.run(["ip", "route", "del", *guard], step=f"remove guard {cidr}", check=False)
    for binary in ("iptables", "ip6tables"):
        for table in TABLES:
            remove_chains(runner, binary, table)
    # kube-network-policies deletes its table when it stops; after a hard kill it is left
    # behind and would keep queueing pod packets to a listener that is gone (fail closed).
    runner.run(["nft", "delete", "table", *POLICY_TABLE], step="remove policy table", check=False)


def owned_rules(dump: str) -> tuple[list[list[str]], list[str]]:
    """From `iptables-save -t T` output: rules (as -D argv) that jump to or live in our chains,
    and the names of our chains."""
    chains = [
        line[1:].split()[0]
        for line in dump.splitlines()
        if line.startswith(":") and line[1:].startswith(OWNED_PREFIXES)
    ]
    deletes = []
    for line in dump.splitlines():
        if not line.startswith("-A "):
            continue
        words = shlex.split(line)
        chain = words[1]
        target = words[words.index("-j") + 1] if "-j" in words else ""
        # Rules inside our chains go with the chain (-F); only hooks in others need -D.
        if not chain.startswith(OWNED_PREFIXES) and target.startswith(OWNED_PREFIXES):
            deletes.append(["-D", *words[1:]])
    return deletes, chains


def remove_chains(runner: Runner, binary: str, table: str) -> None:
    dump = runner.run(
        [f"{binary}-save", "-t", table], step=f"{binary}-save", check=False, mutating=False
    )
    if not dump.ok:
        return
    deletes, chains = owned_rules(dump.stdout)
    base = [binary, "-w", "5", "-t", table]
    for rule in deletes:
        runner.run([*base, *rule], step=f"remove {table} hook", check=False)
    for chain in chains:
        runner.run([*base, "-F", chain], step=f"flush {chain}", check=False)
    for chain in chains:
        runner.run([*base, "-X", chain], step=f"delete {chain}", check=False)
