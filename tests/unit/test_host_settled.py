"""The host cluster's warm `up()`: what its last settled `up()` asserted is skipped only while
the inputs are the same and the live checks pass (tests/e2e runs it on the real cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.fakes import Harness
from todo_deploy.providers.host import network, settling
from todo_deploy.providers.host.layout import CONTEXT, Layout

FILTER = "\n".join(
    [
        "*filter",
        f":{network.FORWARD_CHAIN} - [0:0]",
        f"-A FORWARD -j {network.FORWARD_CHAIN}",
        f"-A {network.FORWARD_CHAIN} -i todo0 -o todo0 -j ACCEPT",
        f"-A {network.FORWARD_CHAIN} -s 10.88.0.0/16 ! -o todo0 -j REJECT",
        f"-A {network.FORWARD_CHAIN} -d 10.88.0.0/16 ! -i todo0 -j REJECT",
        "COMMIT",
    ]
)
MANIFEST = {"apiVersion": "v1", "kind": "List", "items": [{"kind": "StorageClass"}]}


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    monkeypatch.setattr(network, "bridge_exists", lambda: True)
    layout = Layout(state=tmp_path / "state", cache=tmp_path / "cache")
    layout.config.mkdir(parents=True)
    layout.cni_conf.mkdir(parents=True)
    (layout.config / "kubelet.yaml").write_text("kind: KubeletConfiguration\n")
    return layout


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({"contexts": [{"name": CONTEXT, "context": {}}]}))
    return path


def _settled(h: Harness, layout: Layout, kubeconfig: Path, manifest: dict = MANIFEST):
    return settling.Settled(layout, manifest, h.runner, kubeconfig)


def _recorded(h: Harness, layout: Layout, kubeconfig: Path) -> None:
    layout.state.mkdir(parents=True, exist_ok=True)
    h.fake.on("iptables-save", stdout=FILTER)
    _settled(h, layout, kubeconfig).record()


def test_an_unchanged_cluster_is_settled_after_one_up(harness, layout, kubeconfig) -> None:
    h = harness
    h.fake.on("iptables-save", stdout=FILTER)
    assert not _settled(h, layout, kubeconfig).holds()  # never recorded
    _recorded(h, layout, kubeconfig)
    assert _settled(h, layout, kubeconfig).holds()


@pytest.mark.parametrize(
    "change",
    ["manifest", "config file", "forward hook", "filter rule", "node image", "context", "down"],
)
def test_any_change_or_failed_live_check_asserts_everything_again(
    harness: Harness, layout: Layout, kubeconfig: Path, change: str
) -> None:
    h = harness
    _recorded(h, layout, kubeconfig)
    manifest = MANIFEST
    if change == "manifest":
        manifest = {**MANIFEST, "items": [{"kind": "IngressClass"}]}
    elif change == "config file":
        (layout.config / "kubelet.yaml").write_text("kind: KubeletConfiguration\nmaxPods: 9\n")
    elif change == "forward hook":  # a firewall reload dropped the jump
        h.fake.on(
            "iptables-save", stdout=FILTER.replace(f"-A FORWARD -j {network.FORWARD_CHAIN}", "")
        )
    elif change == "filter rule":  # an `iptables -F` of our chain, or a rule deleted
        rule = f"-A {network.FORWARD_CHAIN} -d 10.88.0.0/16 ! -i todo0 -j REJECT"
        h.fake.on("iptables-save", stdout=FILTER.replace(rule, ""))
    elif change == "node image":  # e.g. `docker image prune -a`
        h.fake.on("docker", "image", "inspect", rc=1, stderr="No such image: todo-host/pause")
    elif change == "context":
        kubeconfig.write_text(yaml.safe_dump({"contexts": []}))
    elif change == "down":
        settling.forget(layout)
    assert not _settled(h, layout, kubeconfig, manifest).holds()
