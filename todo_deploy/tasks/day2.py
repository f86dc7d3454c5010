"""Day-2 tasks: status, logs, port-forward, restart, doctor, isolation."""

from __future__ import annotations

import json
import shutil
import socket

from invoke import Context, Exit
from rich.table import Table

from todo_deploy.catalogue import CatalogueError, Component
from todo_deploy.doctor import diagnose
from todo_deploy.isolation import IsolationCheck, Verdict, failure_message
from todo_deploy.portforward import port_forward_argv
from todo_deploy.target import Target
from todo_deploy.tasks.common import (
    TARGET_HELP,
    Lines,
    Port,
    failures,
    foreground,
    refuse_dry,
    target,
    task,
)


def _component(t: Target, name: str) -> Component:
    try:
        return t.catalogue[name]
    except CatalogueError as exc:
        raise Exit(str(exc), 2) from None


def _target(
    c: Context,
    provider: str | None,
    namespace: str | None,
    kube_context: str | None,
    verbose: bool = False,
) -> Target:
    flags = {"provider": provider, "namespace": namespace, "kube_context": kube_context}
    return target(c, flags, verbose=verbose)


@task(help={**TARGET_HELP, "verbose": "echo each command as it runs"})
def status(
    c: Context,
    verbose: bool = False,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Show pods (readiness, restarts, image tags) and the release revision."""
    t = _target(c, provider, namespace, kube_context, verbose)
    with failures():
        cluster = t.provider.status()
        t.console.print(
            f"cluster ({t.provider.name}): "
            + ", ".join(f"{k} {v}" for k, v in cluster.components.items())
        )
        pods = t.kube.get_json("pods", step="pods")
        if pods is None:
            t.console.print("the cluster's API server does not answer")
            return
        if pods.get("items"):
            t.console.print(_pod_table(pods))
        else:
            t.console.print(f"no pods in namespace {t.config.namespace}")
        result = t.helm.run("list", "-o", "json", step="helm list", check=False, mutating=False)
        for rel in json.loads(result.stdout or "[]") if result.ok else []:
            t.console.print(f"release {rel['name']}: revision {rel['revision']}, {rel['status']}")


def _pod_table(pods: dict) -> Table:
    table = Table("pod", "ready", "status", "restarts", "images")
    for pod in pods.get("items", []):
        statuses = pod["status"].get("containerStatuses") or []
        ready = sum(1 for cs in statuses if cs.get("ready"))
        table.add_row(
            pod["metadata"]["name"],
            f"{ready}/{len(pod['spec']['containers'])}",
            pod["status"].get("phase", "?"),
            str(sum(cs.get("restartCount", 0) for cs in statuses)),
            ", ".join(ct["image"] for ct in pod["spec"]["containers"]),
        )
    return table


@task(
    positional=["component"],
    help={
        "component": "frontend, backend, mcp or postgres",
        "follow": "stream new lines",
        "tail": "lines to show per container",
        **TARGET_HELP,
    },
)
def logs(
    c: Context,
    component: str,
    follow: bool = False,
    tail: int = Lines(100),
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Show a component's logs from all its pods."""
    t = _target(c, provider, namespace, kube_context)
    argv = t.kube.argv(
        "logs",
        "-l",
        f"component={_component(t, component).name}",
        "--all-containers",
        "--prefix",
        f"--tail={tail}",
    )
    if foreground(t.runner, [*argv, "-f"] if follow else argv):
        raise Exit(f"kubectl logs failed for {component}", 1)


@task(
    name="port-forward",
    help={
        "component": "service to reach: frontend (default), backend, mcp or postgres",
        "port": "local port on 127.0.0.1 (default: the service's port)",
        **TARGET_HELP,
    },
)
def port_forward(
    c: Context,
    component: str = "frontend",
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
    port: int = Port(0),
) -> None:
    """Forward a component's Service to 127.0.0.1 until Ctrl-C."""
    t = _target(c, provider, namespace, kube_context)
    service = _component(t, component)
    local = int(port) or service.port
    _ensure_free(local)
    t.console.print(f"http://127.0.0.1:{local}/ -> {service.service}:{service.port} (Ctrl-C stops)")
    argv = port_forward_argv(t.kube, service.service, local, service.port)
    if foreground(t.runner, argv):
        raise Exit(f"port-forward to {component} failed", 1)


def _ensure_free(port: int) -> None:
    # kubectl's own message for a taken port comes after its cluster calls and is easy to miss.
    with socket.socket() as sock:
        # As kubectl does: a port held only by closing connections is free to listen on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise Exit(
                f"port 127.0.0.1:{port} is already in use (another port-forward or local "
                "server?): stop that program, or pick a free port with --port N",
                1,
            ) from None


@task(positional=["component"], help={"component": "frontend, backend or mcp", **TARGET_HELP})
def restart(
    c: Context,
    component: str,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Restart a component's pods one by one and wait until they are ready."""
    t = _target(c, provider, namespace, kube_context)
    workload = _component(t, component).workload
    with failures():
        t.kube.run("rollout", "restart", workload, step=f"restart {component}")
        t.kube.rollout_status(workload, t.config.timeouts.rollout)


@task(help=TARGET_HELP)
def doctor(
    c: Context,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Read pod and event state and name the likely cause and fix of each failure."""
    t = _target(c, provider, namespace, kube_context)
    kube = t.kube

    def last_logs(pod: str, container: str) -> str:
        result = kube.run(
            "logs",
            pod,
            "-c",
            container,
            "--previous",
            "--tail=15",
            step="logs",
            check=False,
            mutating=False,
        )
        return result.stdout.strip() or result.stderr.strip()

    with failures():
        pods = kube.get_json("pods", step="pods") or {}
        events = kube.get_json("events", step="events") or {}
        findings = diagnose(pods, events, last_logs)
    if not findings:
        t.console.print(
            f"no known failure pattern in namespace {t.config.namespace} "
            f"({len(pods.get('items', []))} pods)"
        )
    for f in findings:
        t.console.print(f"[bold red]{f.subject}[/]: {f.cause}\n  fix: {f.fix}")
        if f.detail:
            t.console.out("  " + t.runner.mask(f.detail).replace("\n", "\n  "))
    for helper in ("kubectl-ai", "kagent"):
        if shutil.which(helper):
            t.console.print(
                f'{helper} is installed: ask it, e.g. `{helper} "why is '
                f'{t.config.namespace} failing"`'
            )


@task(help=TARGET_HELP)
def isolation(
    c: Context,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Prove the NetworkPolicies hold: MCP and PostgreSQL refuse pods outside the app."""
    refuse_dry(c, "isolation", "its probes are real connections from pods it starts")
    t = _target(c, provider, namespace, kube_context)
    t.console.print("probing with real connections from throwaway pods (about 15 s) ...")
    with failures():
        check = IsolationCheck(t.kube, t.config.release, t.catalogue)
        verdicts = check.run()
        t.console.print(_verdict_table(verdicts))
        if not all(v.ok for v in verdicts):
            raise Exit(failure_message(verdicts, check.protected()), 1)
    t.console.print("isolation: enforced (MCP and PostgreSQL answer the app's pods only)")


def _verdict_table(verdicts: list[Verdict]) -> Table:
    table = Table("from", "to", "connection", "expected", "")
    for v in verdicts:
        mark = "ok" if v.ok else "FAIL"
        table.add_row(v.source, v.target, v.observed, v.expected or "(values decide)", mark)
    return table
