"""kind on this machine, offline, as a normal user: what the kind provider and its e2e rely on.

In order: the runtime wrapper leaves other containers alone; the node image is cached by
content; a cluster made from it by `todo-ci` gets a Ready node and CoreDNS; a `kind load`ed
image runs and resolves cluster names; a pod pulls from the local registry through the
containerd mirror; kind's default StorageClass gives a non-root pod a writable volume;
kube-network-policies refuses a pod until a policy allows it; the cluster is deleted.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.kind_infra.conftest import CLUSTER, CONTEXT, CiUser
from tests.support.kind import addons, nodeimage, registry, runtime
from todo_deploy.base.debian import ensure_packages
from todo_deploy.base.engine import DockerCli
from todo_deploy.base.run import Runner
from todo_deploy.providers.host.images import import_scratch_image

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(3600)]

PROBE = "local/kind-probe:busybox-1"
PUSHED = f"{registry.ADDRESS}/kind-probe:busybox-1"
BUSYBOX = Path("/bin/busybox")
PAGE = "served from a pod\n"
NAMESPACE = "kind-infra"


def _docker_ps() -> set[str]:
    result = subprocess.run(
        ["docker", "ps", "--format", "{{.ID}} {{.Status}}"],
        text=True,
        capture_output=True,
        check=True,
    )
    return {line.split()[0] for line in result.stdout.splitlines()}


@pytest.fixture(scope="module")
def probe_image(runner: Runner) -> str:
    """busybox (static) with a web page: a client, a server and nslookup in one small image."""
    if not DockerCli(runner).image_id(PROBE):
        ensure_packages(runner, {"/usr/share/doc/busybox-static": "busybox-static"})
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "index.html"
            page.write_text(PAGE)
            files = {"/bin/busybox": BUSYBOX, "/www/index.html": page}
            import_scratch_image(runner, PROBE, files, ["/bin/busybox"])
    return PROBE


def _pod(name: str, image: str, command: list[str], labels: dict | None = None, **spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels or {"app": name}},
        "spec": {
            "containers": [{"name": "main", "image": image, "command": command, **spec}],
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
        },
    }


def _apply(user: CiUser, *objects: dict) -> None:
    manifest = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    user.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))


@pytest.fixture(scope="module")
def namespace(cluster: CiUser) -> str:
    cluster.kubectl("create", "namespace", NAMESPACE)
    return NAMESPACE


def _started_at(container: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", container],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()


def test_runtime_reload_leaves_running_containers_alone(runner: Runner, prepared: str):
    """The first set-up on a machine reloads dockerd under whatever runs there (the host
    cluster's pods in CI): a SIGHUP must leave every running container as it was."""
    sleeper = subprocess.run(
        ["docker", "run", "-d", "--rm", "--entrypoint", "/bin/sleep", prepared, "300"],
        text=True, capture_output=True, check=True,
    ).stdout.strip()  # fmt: skip
    try:
        before, started = _docker_ps(), _started_at(sleeper)
        runtime.reload_dockerd(runner)
        assert before <= _docker_ps(), "a running container stopped when dockerd reloaded"
        assert _started_at(sleeper) == started
    finally:
        subprocess.run(["docker", "rm", "-f", sleeper], capture_output=True, check=False)
    assert runtime.ensure_runtime(runner) == []  # idempotent
    assert runtime.default_runtime(runner) == runtime.RUNTIME_NAME
    privileged = subprocess.run(
        ["docker", "run", "--rm", "--privileged", "--entrypoint", "/bin/true", prepared],
        text=True, capture_output=True, check=False,
    )  # fmt: skip
    assert privileged.returncode == 0, privileged.stderr


def test_node_image_is_cached_by_content(runner: Runner, prepared: str, figures):
    started = time.monotonic()
    assert nodeimage.ensure_node_image(DockerCli(runner)) == prepared
    figures["node image, second call (inputs unchanged)"] = time.monotonic() - started
    assert time.monotonic() - started < 60, "an unchanged node image was rebuilt"


def test_node_ready_and_coredns_running(cluster: CiUser, figures):
    started = time.monotonic()
    cluster.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=180s")
    cluster.kubectl(
        "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s"
    )
    figures["node Ready and CoreDNS Ready after create"] = time.monotonic() - started
    version = json.loads(cluster.kubectl("version", "-o", "json"))["serverVersion"]
    assert version["gitVersion"] == nodeimage.KUBERNETES_VERSION


def test_kubelet_cgroups_exist_in_every_hierarchy_the_node_mounts(cluster: CiUser):
    """Hosts differ (some mount no hugetlb hierarchy): every cgroup v1 hierarchy mounted in the
    node, the ones the kubelet checks, must hold its cgroup, whichever this host is."""
    host_has_hugetlb = Path("/sys/fs/cgroup/hugetlb").is_dir()
    print(f"this host {'mounts' if host_has_hugetlb else 'does not mount'} a hugetlb hierarchy")
    listing = cluster.run(
        "docker", "exec", f"{CLUSTER}-control-plane", "sh", "-c",
        # The hierarchies themselves: kind's entrypoint also mounts their kubelet folders.
        "awk '$3 == \"cgroup\" && $2 ~ \"^/sys/fs/cgroup/[^/]+$\" {print $2}' /proc/self/mounts "
        "| sort -u | while read -r d; do "
        'test -d "$d/kubelet" && echo "ok $d" || echo "missing $d"; done',
    )  # fmt: skip
    lines = listing.stdout.splitlines()
    print("\n".join(lines))
    assert lines, f"no cgroup v1 hierarchy listed in the node: {listing.stderr}"
    assert not [line for line in lines if line.startswith("missing")], lines


def test_loaded_image_runs_and_resolves_cluster_names(
    cluster: CiUser, namespace: str, probe_image: str, figures
):
    started = time.monotonic()
    loaded = cluster.run("kind", "load", "docker-image", probe_image, "--name", CLUSTER)
    assert loaded.returncode == 0, loaded.stderr
    figures["kind load docker-image (busybox probe)"] = time.monotonic() - started
    fqdn = "kubernetes.default.svc.cluster.local"
    _apply(
        cluster,
        _pod("dns", probe_image, ["/bin/busybox", "nslookup", fqdn], imagePullPolicy="Never"),
    )
    cluster.kubectl(
        "-n", namespace, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/dns",
        "--timeout=120s",
    )  # fmt: skip
    answer = cluster.kubectl("-n", namespace, "logs", "pod/dns")
    service_ip = cluster.kubectl(
        "-n", "default", "get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"
    )
    assert service_ip in answer, answer


def test_pod_pulls_from_the_local_registry(
    cluster: CiUser, runner: Runner, namespace: str, probe_image: str, figures
):
    docker = DockerCli(runner)
    docker.run("tag", probe_image, PUSHED, step="tag for the registry")
    started = time.monotonic()
    docker.run("push", PUSHED, step="push to the local registry", timeout=300)
    figures["docker push to 127.0.0.1:5001"] = time.monotonic() - started
    started = time.monotonic()
    _apply(
        cluster,
        _pod("pulled", PUSHED, ["/bin/busybox", "true"], imagePullPolicy="Always"),
    )
    cluster.kubectl(
        "-n", namespace, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/pulled",
        "--timeout=120s",
    )  # fmt: skip
    figures["pod pulled from the registry and ran"] = time.monotonic() - started
    events = cluster.kubectl(
        "-n", namespace, "get", "events", "--field-selector", "involvedObject.name=pulled"
    )
    assert "Pulled" in events and "Successfully pulled" in events, events


def test_default_storage_is_writable_by_a_non_root_pod(
    cluster: CiUser, namespace: str, probe_image: str, figures
):
    """kind's StorageClass `standard` (local-path-provisioner), as on a laptop."""
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
    }
    writer = _pod(
        "writer",
        probe_image,
        # Shell built-ins only: the image holds nothing but /bin/busybox.
        ["/bin/busybox", "sh", "-c", "echo kept > /data/f && read line < /data/f && echo $line"],
        imagePullPolicy="Never",
        volumeMounts=[{"name": "data", "mountPath": "/data"}],
        securityContext={"runAsUser": 10001, "runAsNonRoot": True},
    )
    writer["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    started = time.monotonic()
    _apply(cluster, claim, writer)
    cluster.kubectl(
        "-n", namespace, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/writer",
        "--timeout=180s",
    )  # fmt: skip
    figures["PVC provisioned, written by uid 10001"] = time.monotonic() - started
    assert cluster.kubectl("-n", namespace, "logs", "pod/writer").strip() == "kept"
    storage_class = cluster.kubectl(
        "-n", namespace, "get", "pvc", "data", "-o", "jsonpath={.spec.storageClassName}"
    )
    assert storage_class == "standard"


def _connects(user: CiUser, client: str, address: str) -> bool:
    # busybox-static's wget segfaults (Debian 12): speak HTTP/1.0 through nc.
    probe = user.run(
        "kubectl", "--context", CONTEXT, "-n", NAMESPACE, "exec", "-i", client, "--",
        "/bin/busybox", "nc", "-w", "3", address, "8080",
        stdin="GET / HTTP/1.0\r\n\r\n", timeout=60,
    )  # fmt: skip
    return probe.returncode == 0 and PAGE in probe.stdout


def _eventually(check, expected: bool, within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check() == expected:
            return True
        time.sleep(1)
    return False


def test_network_policy_refuses_until_allowed(
    cluster: CiUser, runner: Runner, namespace: str, probe_image: str, figures
):
    kubeconfig = cluster.home / ".kube" / "config"
    figures["kube-network-policies DaemonSet installed"] = addons.install_network_policies(
        runner,
        cluster_name=CLUSTER,
        context=CONTEXT,
        kubectl=cluster.tools / "kubectl",
        kubeconfig=kubeconfig,
    )
    sleeper = ["/bin/busybox", "sleep", "3600"]
    server = _pod(
        "web", probe_image, ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"],
        imagePullPolicy="Never",
    )  # fmt: skip
    _apply(
        cluster,
        server,
        _pod("allowed", probe_image, sleeper, {"role": "client"}, imagePullPolicy="Never"),
        _pod("stranger", probe_image, sleeper, {"role": "other"}, imagePullPolicy="Never"),
    )
    for pod in ("web", "allowed", "stranger"):
        cluster.kubectl("-n", namespace, "wait", "--for=condition=Ready", f"pod/{pod}")
    address = cluster.kubectl(
        "-n", namespace, "get", "pod", "web", "-o", "jsonpath={.status.podIP}"
    )
    assert _connects(cluster, "stranger", address), "no policy yet: every pod may connect"
    deny: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web-ingress", "namespace": namespace},
        "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]},
    }
    _apply(cluster, deny)
    assert _eventually(lambda: _connects(cluster, "allowed", address), False), "deny ignored"
    assert not _connects(cluster, "stranger", address)
    allow = {"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}
    _apply(cluster, {**deny, "spec": {**deny["spec"], "ingress": [allow]}})
    assert _eventually(lambda: _connects(cluster, "allowed", address), True), "allow ignored"
    assert not _connects(cluster, "stranger", address), "a pod the policy omits got through"


def test_delete_cluster(cluster: CiUser, figures):
    started = time.monotonic()
    deleted = cluster.run("kind", "delete", "cluster", "--name", CLUSTER, timeout=180)
    assert deleted.returncode == 0, deleted.stderr
    figures["kind delete cluster"] = time.monotonic() - started
    clusters = cluster.run("kind", "get", "clusters")
    assert CLUSTER not in clusters.stdout.split()
    names = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}"], text=True, capture_output=True
    ).stdout.split()
    assert f"{CLUSTER}-control-plane" not in names
