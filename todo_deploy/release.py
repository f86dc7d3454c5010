"""Install or upgrade the app: `helm upgrade --install` (default) or `kubectl apply` of k8s/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from todo_deploy.config import DeployConfig
from todo_deploy.kube import Kube
from todo_deploy.run import Runner

# images module name -> chart values key (the chart calls the database image `postgresql`)
CHART_IMAGE_KEYS = {
    "frontend": "frontend",
    "backend": "backend",
    "mcp": "mcp",
    "postgres": "postgresql",
}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def helm_argv(
    config: DeployConfig,
    helm: str,
    kube_context: str | None,
    image_refs: Mapping[str, str],
    ingress_class: str,
    external_database: bool,
) -> list[str]:
    argv = [
        helm, "upgrade", "--install", config.release, config.chart,
        "--namespace", config.namespace, "--create-namespace",
        # Helm 4's name for --atomic (deprecated there): roll back a failed upgrade.
        "--rollback-on-failure", "--wait", "--timeout", f"{config.timeouts.rollout}s",
    ]  # fmt: skip
    if kube_context:
        argv += ["--kube-context", kube_context]
    for values in config.values_files:
        argv += ["-f", values]
    for name, ref in sorted(image_refs.items()):
        repository, tag = ref.rsplit(":", 1)
        key = CHART_IMAGE_KEYS.get(name, name)
        # --set-string: helm's --set turns an all-digit content tag into a number, which the
        # chart's schema rightly refuses (seen once in e2e: a 12-digit hash).
        argv += [
            "--set-string",
            f"images.{key}.repository={repository}",
            "--set-string",
            f"images.{key}.tag={tag}",
        ]
        if config.registry:  # values-dev.yaml says Never: right for local engines only
            argv += ["--set", f"images.{key}.pullPolicy=IfNotPresent"]
    argv += [
        "--set", f"existingSecret={config.secret_name}",
        "--set", f"ingress.ingressClassName={ingress_class}",
        "--set", f"ingress.host={config.ingress_host}",
    ]  # fmt: skip
    if external_database:
        argv += ["--set", "postgresql.enabled=false"]
    return argv


def helm_release(
    config: DeployConfig,
    runner: Runner,
    helm: str,
    kube_context: str | None,
    image_refs: Mapping[str, str],
    ingress_class: str,
    external_database: bool = False,
) -> None:
    argv = helm_argv(config, helm, kube_context, image_refs, ingress_class, external_database)
    _recover_interrupted(config, runner, helm, kube_context)
    # A failed upgrade is rolled back, so a re-run starts from a known state.
    runner.run(argv, step="helm upgrade --install", timeout=config.timeouts.rollout + 60)


def _helm_base(config: DeployConfig, helm: str, kube_context: str | None) -> list[str]:
    base = [helm, "--namespace", config.namespace]
    return [*base, "--kube-context", kube_context] if kube_context else base


def release_status(
    config: DeployConfig, runner: Runner, helm: str, kube_context: str | None
) -> dict[str, Any]:
    """`helm status -o json` of the release; {} when it is not installed."""
    base = _helm_base(config, helm, kube_context)
    status = runner.run([*base, "status", config.release, "-o", "json"], step="helm status",
                        check=False, mutating=False)  # fmt: skip
    if not status.ok or not status.stdout.strip():
        return {}
    return json.loads(status.stdout)


def _recover_interrupted(
    config: DeployConfig, runner: Runner, helm: str, kube_context: str | None
) -> None:
    """Unlock a release left pending by a killed helm (Ctrl-C twice), so the re-run converges.

    Helm refuses to upgrade while a previous operation is marked in progress.
    """
    base = _helm_base(config, helm, kube_context)
    state = release_status(config, runner, helm, kube_context).get("info", {}).get("status", "")
    if state == "pending-install":
        runner.run(
            [*base, "uninstall", config.release, "--wait"], step="remove interrupted install"
        )
    elif state in ("pending-upgrade", "pending-rollback"):
        runner.run(
            [*base, "rollback", config.release, "--wait"], step="roll back interrupted upgrade"
        )


def rollback_outcome(
    config: DeployConfig, runner: Runner, helm: str, kube_context: str | None
) -> str:
    """What --rollback-on-failure left, in a line: the revision serving, or nothing installed."""
    status = release_status(config, runner, helm, kube_context)
    info = status.get("info", {})
    if not status:
        return f"the failed first install of {config.release} was removed: nothing was serving"
    back_to = re.search(r"Rollback to (\d+)", info.get("description", ""))
    if info.get("status") == "deployed" and back_to:
        return (f"rolled back to revision {back_to.group(1)} (now revision "
                f"{status.get('version')}): the previous version is still serving")  # fmt: skip
    return (f"release {config.release} is at revision {status.get('version')}, "
            f"{info.get('status', 'state unknown')}: {info.get('description', '')}")  # fmt: skip


def load_manifests(directory: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def _containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def retarget(
    docs: list[dict[str, Any]], image_refs: Mapping[str, str], ingress_class: str
) -> list[dict[str, Any]]:
    """Point the rendered manifests at the images just built and this cluster's ingress class."""
    by_repository = {ref.rsplit(":", 1)[0].rsplit("/", 1)[-1]: ref for ref in image_refs.values()}
    for doc in docs:
        for container in _containers(doc):
            repository = container["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1]
            container["image"] = by_repository.get(repository, container["image"])
        if doc.get("kind") == "Ingress":
            doc["spec"]["ingressClassName"] = ingress_class
    return docs


def rendered_namespaces(docs: list[dict[str, Any]]) -> set[str]:
    """Namespaces the rendered manifests place objects in (k8s/ is rendered for one)."""
    names = {d["metadata"].get("namespace") for d in docs}
    names |= {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    return {n for n in names if n}


def kubectl_release(
    config: DeployConfig, kube: Kube, image_refs: Mapping[str, str], ingress_class: str
) -> None:
    # The namespace must exist before anything placed in it, hence two applies.
    docs = retarget(load_manifests(config.manifests_dir), image_refs, ingress_class)
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
