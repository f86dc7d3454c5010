"""Day-2 tasks: status, logs, port-forward, restart, doctor, isolation."""

from __future__ import annotations

import shutil
import socket

from invoke import Context, Exit, task
from rich.table import Table

from todo_deploy.doctor import diagnose
from todo_deploy.isolation import IsolationCheck, Verdict, failure_message
from todo_deploy.tasks.common import TARGET_HELP, Session, failures, foreground, session

SERVICE_PORTS = {"frontend": 3000, "backend": 8000, "mcp": 8001, "postgres": 5432}


def _component(name: str) -> str:
    if name not in SERVICE_PORTS:
        raise Exit(f"unknown component {name!r}: choose from {', '.join(SERVICE_PORTS)}", 2)
    return name


def _target(
    c: Context,
    provider: str | None,
    namespace: str | None,
    kube_context: str | None,
    verbose: bool = False,
) -> Session:
    flags = {"provider": provider, "namespace": namespace, "kube_context": kube_context}
    return session(c, flags, verbose=verbose)


@task(help={**TARGET_HELP, "verbose": "echo each command as it runs"})
def status(
    c: Context,
    verbose: bool = False,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Show pods (readiness, restarts, image tags) and the release revision."""
    s = _target(c, provider, namespace, kube_context, verbose)
    with failures():
        cluster = s.provider.status()
        s.console.print(
            f"cluster ({s.provider.name}): "
            + ", ".join(f"{k} {v}" for k, v in cluster.components.items())
        )
        pods = s.kube().get_json("pods", step="pods")
        if pods is None:
            s.console.print("the cluster's API server does not answer")
            return
        if pods.get("items"):
            s.console.print(_pod_table(pods))
        else:
            s.console.print(f"no pods in namespace {s.config.namespace}")
        # Helm's own release records, read with kubectl: status needs no helm binary.
        records = s.kube().get_json("secrets", "-l", "owner=helm", step="helm releases") or {}
        for name, revision, state in latest_releases(records):
            s.console.print(f"release {name}: revision {revision}, {state}")


def latest_releases(records: dict) -> list[tuple[str, int, str]]:
    """(name, revision, status) of each Helm release, from its release Secrets' labels."""
    latest: dict[str, tuple[str, int, str]] = {}
    for item in records.get("items", []):
        labels = item["metadata"].get("labels", {})
        name, revision = labels.get("name", "?"), int(labels.get("version", 0))
        if name not in latest or revision > latest[name][1]:
            latest[name] = (name, revision, labels.get("status", "unknown"))
    return sorted(latest.values())


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
    tail: int = 100,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Show a component's logs from all its pods."""
    s = _target(c, provider, namespace, kube_context)
    argv = s.kube().argv(
        "logs",
        "-l",
        f"component={_component(component)}",
        "--all-containers",
        "--prefix",
        f"--tail={tail}",
    )
    if foreground(s.runner, [*argv, "-f"] if follow else argv):
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
    port: int | None = None,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Forward a component's Service to 127.0.0.1 until Ctrl-C."""
    s = _target(c, provider, namespace, kube_context)
    remote = SERVICE_PORTS[_component(component)]
    local = int(port) if port else remote
    _ensure_free(local)
    s.console.print(
        f"http://127.0.0.1:{local}/ -> service/todo-{component}:{remote} (Ctrl-C stops)"
    )
    argv = s.kube().argv(
        "port-forward", "--address", "127.0.0.1", f"service/todo-{component}", f"{local}:{remote}"
    )
    if foreground(s.runner, argv):
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
    s = _target(c, provider, namespace, kube_context)
    workload = f"deployment/todo-{_component(component)}"
    with failures():
        s.kube().run("rollout", "restart", workload, step=f"restart {component}")
        s.kube().rollout_status(workload, s.config.timeouts.rollout)


@task(help=TARGET_HELP)
def doctor(
    c: Context,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Read pod and event state and name the likely cause and fix of each failure."""
    s = _target(c, provider, namespace, kube_context)
    kube = s.kube()

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
        s.console.print(
            f"no known failure pattern in namespace {s.config.namespace} "
            f"({len(pods.get('items', []))} pods)"
        )
    for f in findings:
        s.console.print(f"[bold red]{f.subject}[/]: {f.cause}\n  fix: {f.fix}")
        if f.detail:
            s.console.out("  " + s.runner.mask(f.detail).replace("\n", "\n  "))
    for helper in ("kubectl-ai", "kagent"):
        if shutil.which(helper):
            s.console.print(
                f'{helper} is installed: ask it, e.g. `{helper} "why is '
                f'{s.config.namespace} failing"`'
            )


@task(help=TARGET_HELP)
def isolation(
    c: Context,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Prove the NetworkPolicies hold: MCP and PostgreSQL refuse pods outside the app."""
    s = _target(c, provider, namespace, kube_context)
    s.console.print("probing with real connections from throwaway pods (about 15 s) ...")
    check = IsolationCheck(s.kube(), s.config.release)
    with failures():
        verdicts = check.run()
        s.console.print(_verdict_table(verdicts))
        if not all(v.ok for v in verdicts):
            raise Exit(failure_message(verdicts, check.protected()), 1)
    s.console.print("isolation: enforced (MCP and PostgreSQL answer the app's pods only)")


def _verdict_table(verdicts: list[Verdict]) -> Table:
    table = Table("from", "to", "connection", "expected", "")
    for v in verdicts:
        mark = "ok" if v.ok else "FAIL"
        table.add_row(v.source, v.target, v.observed, v.expected or "(values decide)", mark)
    return table
