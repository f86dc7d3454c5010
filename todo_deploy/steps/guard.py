"""Refuse to deploy to, or tear down, a cluster that is not on this machine, unless allowed.

As Tilt's `allow_k8s_contexts`: a context is local when one of the suite's own providers made
it (minikube, host, kind, ...), when its name is a known local distribution's, or when its API
server is on a loopback address. Anything else needs `allowed_contexts` in invoke.yaml or
`--allow-context NAME` on the command line.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from todo_deploy.base.clusters import named_local, provider_entry
from todo_deploy.base.kube import Kube


class ContextRefused(ValueError):
    pass


def api_server(kube: Kube, context: str) -> str:
    """The API server URL of `context`, from the kubeconfig (no call to the cluster)."""
    result = kube.run(
        "config", "view", "--minify", "--context", context,
        "-o", "jsonpath={.clusters[0].cluster.server}",
        step="kube context server", namespaced=False, check=False, mutating=False,
    )  # fmt: skip
    return result.stdout.strip() if result.ok else ""


def is_loopback(server: str) -> bool:
    host = urlsplit(server).hostname or ""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def looks_local(provider: str, context: str) -> bool:
    """Made by one of the suite's providers, or named as a local distribution names it."""
    entry = provider_entry(provider)
    made_here = entry is not None and entry.makes_cluster  # an unknown provider proves nothing
    return made_here or named_local(context)


def ensure_allowed(
    kube: Kube,
    *,
    provider: str,
    context: str,
    allowed: list[str],
    confirmed: str | None,
    action: str,
) -> None:
    """Raise ContextRefused unless `context` is local, allowed in config or confirmed by flag."""
    if confirmed is not None and confirmed != context:
        raise ContextRefused(
            f"--allow-context {confirmed} does not match the context in use, {context!r}: "
            "pass the name of the context you mean to change"
        )
    if confirmed == context or context in allowed or looks_local(provider, context):
        return
    server = api_server(kube, context)
    if is_loopback(server):
        return
    raise ContextRefused(
        f"refusing to {action} kube context {context!r} (API server {server or 'unknown'}): it "
        f"does not look like a cluster on this machine. If you mean it, pass --allow-context "
        f"{context}, or list it under deploy.allowed_contexts in invoke.yaml"
    )
