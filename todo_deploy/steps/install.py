"""Install or upgrade the app's release: `helm upgrade --install` or `kubectl apply` of k8s/."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from todo_deploy.base import catalogue
from todo_deploy.base.kube import Helm
from todo_deploy.base.yamldocs import documents
from todo_deploy.providers.base import ClusterFacts
from todo_deploy.steps.target import Target
from todo_deploy.steps.verify import wait_ready

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
SECRET_DIGEST_ANNOTATION = "checksum/existing-secret"  # the chart's, from existingSecretDigest
CONFIG_DIGEST_ANNOTATION = "checksum/config"  # the chart's: a config change rolls the pods
# The chart's mark on a NetworkPolicy whose peers after the app's own are the ingress controller.
CONTROLLER_PEERS_ANNOTATION = "todo-app/ingress-controller-peers"
# ConfigMap keys holding the public URL (the chart's configmap.yaml): the first as it is, the
# others as one entry of a comma-separated list.
PUBLIC_URL_KEY, ORIGIN_LIST_KEYS = "BETTER_AUTH_URL", ("TRUSTED_ORIGINS", "ALLOWED_ORIGINS")


def helm_argv(target: Target, values: list[str]) -> list[str]:
    """`helm upgrade --install` of the release with `values` (from `value_flags`)."""
    config = target.config
    return [
        target.helm.helm, "upgrade", "--install", config.release, config.chart,
        "--namespace", config.namespace, "--create-namespace",
        # Helm 4's name for --atomic (deprecated there): roll back a failed upgrade.
        "--rollback-on-failure", "--wait", "--timeout", f"{config.timeouts.rollout}s",
        *target.helm.context_flags(), *values,
    ]  # fmt: skip


def value_flags(
    target: Target,
    image_refs: Mapping[str, str],
    cluster: ClusterFacts,
    external_database: bool,
    secret_digest: str = "",
) -> list[str]:
    """The release's values: the values files, then what this deploy sets."""
    config = target.config
    argv: list[str] = []
    for values in config.values_files:
        argv += ["-f", values]
    for name, ref in sorted(image_refs.items()):
        repository, tag = ref.rsplit(":", 1)
        key = target.catalogue[name].image_key
        # --set-string: helm's --set turns an all-digit content tag (e.g. a 12-digit hash)
        # into a number, which the chart's schema rightly refuses.
        argv += [
            "--set-string",
            f"images.{key}.repository={repository}",
            "--set-string",
            f"images.{key}.tag={tag}",
        ]
        if config.registry:  # values-dev.yaml says Never: right for local engines only
            argv += ["--set", f"images.{key}.pullPolicy=IfNotPresent"]
    argv += [
        "--set", f"existingSecret={target.secret_name}",
        "--set", f"ingress.ingressClassName={cluster.ingress_class}",
        "--set", f"ingress.host={config.ingress_host}",
    ]  # fmt: skip
    if cluster.public_port:
        argv += ["--set", f"ingress.publicPort={cluster.public_port}"]
    if cluster.traefik_middleware:
        argv += ["--set", "ingress.traefikMiddleware=true"]
    peers = ingress_peers(target, cluster)
    if peers is not None:
        argv += ["--set-json", f"networkPolicy.ingressControllerPeers={json.dumps(peers)}"]
    if external_database:
        argv += ["--set", "postgresql.enabled=false"]
    if secret_digest:
        argv += ["--set-string", f"existingSecretDigest={secret_digest}"]
    return argv


def ingress_peers(target: Target, cluster: ClusterFacts) -> list[dict[str, Any]] | None:
    """The controller's NetworkPolicy peers this cluster's provider knows, unless a values file
    names them (None: the chart's or the values files' peers stand)."""
    files = target.config.values_files
    if cluster.ingress_peers is None or catalogue.set_by_values_files(
        files, "networkPolicy", "ingressControllerPeers"
    ):
        return None
    return list(cluster.ingress_peers)


def helm_release(
    target: Target,
    image_refs: Mapping[str, str],
    cluster: ClusterFacts,
    external_database: bool = False,
    secret_digest: str = "",
) -> dict[str, Any] | None:
    """Install or upgrade the release: None once upgraded, or, when it is deployed as
    rendered already (nothing to do), that revision's `helm status`."""
    values = value_flags(target, image_refs, cluster, external_database, secret_digest)
    status = _recover_interrupted(target.helm, target.config.release)
    if status.get("info", {}).get("status") == "deployed" and _as_rendered(target, values):
        target.console.print(
            f"  release {target.config.release} unchanged (revision {status.get('version')}): "
            "the cluster already runs exactly this"
        )
        wait_ready(target.kube, target.config.timeouts.rollout, target.console.print)
        return status
    # A failed upgrade is rolled back, so a re-run starts from a known state.
    timeout = target.config.timeouts.rollout + 60
    target.runner.run(helm_argv(target, values), step="helm upgrade --install", timeout=timeout)
    return None


def tested(status: dict[str, Any]) -> bool:
    """That revision's chart test already passed (helm keeps each hook's last run)."""
    hooks = status.get("hooks") or []
    tests = [h for h in hooks if "test" in (h.get("events") or [])]
    return bool(tests) and all((h.get("last_run") or {}).get("phase") == "Succeeded" for h in tests)


def _as_rendered(target: Target, values: list[str]) -> bool:
    """The deployed revision's objects are exactly what these values render (hooks aside), and
    each of them is in the cluster."""
    config, helm = target.config, target.helm
    rendered = target.runner.run(
        [helm.helm, "template", config.release, config.chart, "--namespace", config.namespace,
         *helm.context_flags(), *values],
        step="render the release", check=False, mutating=False,
    )  # fmt: skip
    deployed = helm.run(
        "get", "manifest", config.release, step="deployed manifest", check=False, mutating=False
    )
    if not (rendered.ok and deployed.ok):
        return False
    objects = _objects(rendered.stdout)
    if not objects or objects != _objects(deployed.stdout):
        return False
    # Helm's record matches; the cluster must still hold every object (one deleted by hand, a
    # NetworkPolicy say, is put back by an upgrade).
    listing = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects.values())})
    present = target.kube.run(
        "get", "-f", "-", "-o", "name", step="deployed objects", stdin=listing,
        check=False, mutating=False,
    )  # fmt: skip
    return present.ok


def _objects(manifest: str) -> dict[tuple[str, str], Any]:
    """Each object by kind and name, its hooks (helm test pods) left out."""
    found = {}
    for doc in documents(manifest):
        if "helm.sh/hook" in (doc.get("metadata", {}).get("annotations") or {}):
            continue
        found[(doc.get("kind", ""), doc.get("metadata", {}).get("name", ""))] = doc
    return found


def _recover_interrupted(helm: Helm, release: str) -> dict[str, Any]:
    """Unlock a release left pending by a killed helm (Ctrl-C twice), so the re-run converges;
    returns the release's status (as it is now, when nothing was pending).

    Helm refuses to upgrade while a previous operation is marked in progress. Another run's
    operation in progress never looks pending here: it holds the release's lock.
    """
    status = helm.status(release)
    state = status.get("info", {}).get("status", "")
    if state == "pending-install":
        helm.run("uninstall", release, "--wait", step="remove interrupted install")
        return {}
    if state in ("pending-upgrade", "pending-rollback"):
        helm.run("rollback", release, "--wait", step="roll back interrupted upgrade")
        return {}
    return status


def rollback_outcome(helm: Helm, release: str) -> str:
    """What --rollback-on-failure left, in a line: the revision serving, or nothing installed."""
    status = helm.status(release)
    info = status.get("info", {})
    if not status:
        return f"the failed first install of {release} was removed: nothing was serving"
    back_to = re.search(r"Rollback to (\d+)", info.get("description", ""))
    revision = status.get("version")
    if info.get("status") == "deployed" and back_to:
        return (
            f"rolled back to revision {back_to.group(1)} (now revision {revision}): "
            "the previous version is still serving"
        )
    state = info.get("status", "state unknown")
    return f"release {release} is at revision {revision}, {state}: {info.get('description', '')}"


def load_manifests(directory: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        docs.extend(documents(path.read_text()))
    return docs


def _containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def retarget(
    docs: list[dict[str, Any]],
    image_refs: Mapping[str, str],
    ingress_class: str,
    secret_digest: str = "",
    *,
    host: str = "",
    public_port: int = 0,
    peers: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Point the rendered manifests at the images just built and this cluster's ingress.

    With a digest of the Secret's values, the app's pods carry it, as the chart's
    `existingSecretDigest` does: the app's workloads are the Deployments (the database is a
    StatefulSet whose password is set once, at initdb). With `host`, the Ingress and the
    public URL (sign-in's origin checks) name it, and `public_port` when the cluster's
    ingress is not on 80, as the chart's `ingress.host` and `ingress.publicPort` do. With
    `peers`, the policies the chart marks admit them as the ingress controller.
    """
    by_repository = {ref.rsplit(":", 1)[0].rsplit("/", 1)[-1]: ref for ref in image_refs.values()}
    for doc in docs:
        for container in _containers(doc):
            repository = container["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1]
            container["image"] = by_repository.get(repository, container["image"])
        if doc.get("kind") == "Ingress":
            doc["spec"]["ingressClassName"] = ingress_class
        if secret_digest and doc.get("kind") == "Deployment":
            _pod_annotations(doc)[SECRET_DIGEST_ANNOTATION] = secret_digest
    if host:
        _retarget_public_url(docs, host, public_port)
    if peers is not None:
        _retarget_controller_peers(docs, peers)
    return docs


def _retarget_controller_peers(docs: list[dict[str, Any]], peers: list[dict[str, Any]]) -> None:
    for doc in docs:
        marked = doc.get("metadata", {}).get("annotations", {}).get(CONTROLLER_PEERS_ANNOTATION)
        if doc.get("kind") != "NetworkPolicy" or marked != "true":
            continue
        for rule in doc["spec"].get("ingress", []):
            rule["from"] = [rule["from"][0], *peers]  # the app's own pods come first


def public_url(host: str, port: int = 0) -> str:
    """The chart's todo-app.publicUrl for plain HTTP (k8s/ is rendered without TLS)."""
    return f"http://{host}" + (f":{port}" if port and port != 80 else "")


def _pod_annotations(doc: dict[str, Any]) -> dict[str, str]:
    return doc["spec"]["template"].setdefault("metadata", {}).setdefault("annotations", {})


def _retarget_public_url(docs: list[dict[str, Any]], host: str, port: int) -> None:
    configs = [d for d in docs if d["kind"] == "ConfigMap" and PUBLIC_URL_KEY in d.get("data", {})]
    for config in configs:
        data = config["data"]
        rendered, wanted = data[PUBLIC_URL_KEY], public_url(host, port)
        if rendered == wanted:
            continue
        data[PUBLIC_URL_KEY] = wanted
        for key in ORIGIN_LIST_KEYS:
            origins = data.get(key, "").split(",")
            data[key] = ",".join(wanted if o == rendered else o for o in origins)
        # The pods read the ConfigMap at start: a new digest rolls those that use it.
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        for doc in docs:
            if doc["kind"] in WORKLOAD_KINDS and CONFIG_DIGEST_ANNOTATION in _pod_annotations(doc):
                _pod_annotations(doc)[CONFIG_DIGEST_ANNOTATION] = digest
    for ingress in (d for d in docs if d["kind"] == "Ingress"):
        for rule in ingress["spec"].get("rules", []):
            rule["host"] = host


def rendered_namespaces(docs: list[dict[str, Any]]) -> set[str]:
    """Namespaces the rendered manifests place objects in (k8s/ is rendered for one)."""
    names = {d["metadata"].get("namespace") for d in docs}
    names |= {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    return {n for n in names if n}


def kubectl_release(
    target: Target, image_refs: Mapping[str, str], cluster: ClusterFacts, secret_digest: str = ""
) -> None:
    config, kube = target.config, target.kube
    docs = load_manifests(config.manifests_dir)
    docs = retarget(
        docs,
        image_refs,
        cluster.ingress_class,
        secret_digest,
        host=config.ingress_host,
        public_port=cluster.public_port,
        peers=ingress_peers(target, cluster),
    )
    # The namespace must exist before anything placed in it, hence two applies.
    namespaces = [d for d in docs if d["kind"] == "Namespace"]
    rest = [d for d in docs if d["kind"] != "Namespace"]
    if namespaces:
        kube.apply(
            {"apiVersion": "v1", "kind": "List", "items": namespaces}, step="apply namespace"
        )
    kube.apply(
        {"apiVersion": "v1", "kind": "List", "items": rest}, step=f"apply {config.manifests_dir}/"
    )
    for doc in rest:
        if doc["kind"] in WORKLOAD_KINDS:
            workload = f"{doc['kind'].lower()}/{doc['metadata']['name']}"
            kube.rollout_status(workload, config.timeouts.rollout)
