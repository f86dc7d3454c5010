"""Day-2 tasks: status, logs, port-forward, restart, rollback, doctor, isolation."""

from __future__ import annotations

import json as json_module
import shutil
import socket
import sys
from typing import TYPE_CHECKING, Any

from invoke import Context, Exit

from todo_deploy.tasks.common import (
    ALLOW_HELP,
    COMPONENTS,
    LOCK_HELP,
    TARGET_HELP,
    Lines,
    Port,
    Revision,
    either,
    failures,
    foreground,
    guard_context,
    refuse_dry,
    target,
    task,
)

if TYPE_CHECKING:  # the modules a task uses are imported when it runs: `invoke --list` is quick
    from rich.table import Table

    from todo_deploy.base.catalogue import Component
    from todo_deploy.day2.doctor import Finding
    from todo_deploy.day2.isolation import Verdict
    from todo_deploy.steps.target import Target

JSON_HELP = {"json": "print one JSON document instead of tables (for scripts)"}


def _component(t: Target, name: str) -> Component:
    from todo_deploy.base.catalogue import CatalogueError

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
    machine_output: bool = False,
) -> Target:
    flags = {"provider": provider, "namespace": namespace, "kube_context": kube_context}
    return target(c, flags, verbose=verbose, machine_output=machine_output)


@task(help={**TARGET_HELP, **JSON_HELP, "verbose": "echo each command as it runs"})
def status(
    c: Context,
    verbose: bool = False,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
    json: bool = False,
) -> None:
    """Show pods (readiness, restarts, image tags) and the release revision."""
    t = _target(c, provider, namespace, kube_context, verbose, machine_output=json)
    with failures():
        state = cluster_state(t)
    if json:
        _print_json(state)
        return
    components = state["cluster"]["components"]
    t.console.print(
        f"cluster ({t.provider.name}): " + ", ".join(f"{k} {v}" for k, v in components.items())
    )
    if not state["reachable"]:
        t.console.print("the cluster's API server does not answer")
        return
    if state["pods"]:
        t.console.print(_pod_table(state["pods"]))
    else:
        t.console.print(f"no pods in namespace {t.config.namespace}")
    for rel in state["releases"]:
        t.console.print(f"release {rel['name']}: revision {rel['revision']}, {rel['status']}")


def cluster_state(t: Target) -> dict[str, Any]:
    """What `invoke status` shows, as plain data (its `--json` output)."""
    cluster = t.provider.status()
    pods = t.kube.get_json("pods", step="pods")
    releases = []
    if pods is not None:
        # Helm's own release records, read with kubectl: status needs no helm binary.
        records = t.kube.get_json("secrets", "-l", "owner=helm", step="helm releases") or {}
        releases = [
            {"name": name, "revision": revision, "status": state}
            for name, revision, state in latest_releases(records)
        ]
    return {
        "provider": t.provider.name,
        "kube_context": t.provider.kube_context,
        "namespace": t.config.namespace,
        "cluster": {"running": cluster.running, "components": dict(cluster.components)},
        "reachable": pods is not None,
        "pods": [_pod_row(pod) for pod in (pods or {}).get("items", [])],
        "releases": releases,
    }


def latest_releases(records: dict) -> list[tuple[str, int, str]]:
    """(name, revision, status) of each Helm release, from its release Secrets' labels."""
    latest: dict[str, tuple[str, int, str]] = {}
    for item in records.get("items", []):
        labels = item["metadata"].get("labels", {})
        name, revision = labels.get("name", "?"), int(labels.get("version", 0))
        if name not in latest or revision > latest[name][1]:
            latest[name] = (name, revision, labels.get("status", "unknown"))
    return sorted(latest.values())


def _pod_row(pod: dict[str, Any]) -> dict[str, Any]:
    from todo_deploy.day2.follow import COMPONENT_LABEL

    statuses = pod["status"].get("containerStatuses") or []
    return {
        "name": pod["metadata"]["name"],
        "component": (pod["metadata"].get("labels") or {}).get(COMPONENT_LABEL),
        "ready": sum(1 for cs in statuses if cs.get("ready")),
        "containers": len(pod["spec"]["containers"]),
        "phase": pod["status"].get("phase", "?"),
        "restarts": sum(cs.get("restartCount", 0) for cs in statuses),
        "images": [ct["image"] for ct in pod["spec"]["containers"]],
    }


def _print_json(data: Any) -> None:
    # Straight to stdout: no console markup, wrapping or colour in what scripts parse.
    sys.stdout.write(json_module.dumps(data, indent=2) + "\n")


def _pod_table(pods: list[dict[str, Any]]) -> Table:
    from rich.table import Table

    table = Table("pod", "ready", "status", "restarts", "images")
    for pod in pods:
        table.add_row(
            pod["name"],
            f"{pod['ready']}/{pod['containers']}",
            pod["phase"],
            str(pod["restarts"]),
            ", ".join(pod["images"]),
        )
    return table


@task(
    help={
        "component": f"{either(COMPONENTS['all'])} (default: all of them, followed)",
        "follow": "stream new lines, following pods that start later",
        "tail": "lines to show per container",
        **TARGET_HELP,
    },
)
def logs(
    c: Context,
    component: str | None = None,
    follow: bool = False,
    tail: int = Lines(100),
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Show a component's logs; with no component, follow every component's, colour-prefixed."""
    from todo_deploy.day2.follow import app_selector

    t = _target(c, provider, namespace, kube_context)
    if component and not follow:
        selector = app_selector(t.config.release, [_component(t, component).name])
        argv = t.kube.argv(
            "logs", "-l", selector, "--all-containers", "--prefix", f"--tail={tail}"
        )  # fmt: skip
        if foreground(t.runner, argv):
            raise Exit(f"kubectl logs failed for {component}", 1)
        return
    names = [_component(t, component).name] if component else t.catalogue.names()
    follow_logs(t, names, tail=int(tail))


def follow_logs(t: Target, components: list[str], *, tail: int) -> None:
    """Merged, coloured logs of `components` until Ctrl-C, new pods included."""
    from todo_deploy.day2.follow import LogFollower, app_selector, console_emitter

    emit = console_emitter(t.console, t.catalogue.names())
    follower = LogFollower(t.kube, app_selector(t.config.release, components), emit, tail=tail)
    t.console.print(f"following {', '.join(components)} in {t.config.namespace} (Ctrl-C stops)")
    with failures():
        try:
            follower.run()
        except KeyboardInterrupt:
            follower.stop()


def _entry_first() -> str:
    """Every component, the one "/" reaches first as the default: "frontend (default), ..."."""
    entry = COMPONENTS["entry"]
    return either([f"{entry} (default)", *(n for n in COMPONENTS["all"] if n != entry)])


@task(
    name="port-forward",
    help={
        "component": f"service to reach: {_entry_first()}",
        "port": "local port on 127.0.0.1 (default: the service's port)",
        **TARGET_HELP,
    },
)
def port_forward(
    c: Context,
    component: str = COMPONENTS["entry"],
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
    port: int = Port(0),
) -> None:
    """Forward a component's Service to 127.0.0.1 until Ctrl-C, following its pods."""
    from todo_deploy.day2.portforward import ReconnectingForward, service_target

    t = _target(c, provider, namespace, kube_context)
    service = _component(t, component)
    local = int(port) or service.port
    _ensure_free(local)
    with failures():
        pods = service_target(t.kube, service.object_name, service.port)
    t.console.print(f"http://127.0.0.1:{local}/ -> {service.service}:{service.port} (Ctrl-C stops)")
    forward = ReconnectingForward(t.kube, pods, local, t.console.print)
    with failures():
        try:
            forward.run()
        except KeyboardInterrupt:
            forward.stop()


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


@task(positional=["component"], help={"component": either(COMPONENTS["services"]), **TARGET_HELP})
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


@task(help={**TARGET_HELP, **JSON_HELP})
def doctor(
    c: Context,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
    json: bool = False,
) -> None:
    """Read pod and event state and name the likely cause and fix of each failure."""
    from todo_deploy.day2.doctor import diagnose

    t = _target(c, provider, namespace, kube_context, machine_output=json)
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
    if json:
        _print_json(_doctor_json(t, pods, findings))
        return
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


def _doctor_json(t: Target, pods: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    return {
        "namespace": t.config.namespace,
        "pods": len(pods.get("items", [])),
        "healthy": not findings,
        "findings": [
            {
                "subject": f.subject,
                "cause": f.cause,
                "fix": f.fix,
                "detail": t.runner.mask(f.detail) if f.detail else "",
            }
            for f in findings
        ],
    }


@task(
    help={
        "revision": "Helm revision to return to (`helm history` lists them; default: the one "
        "before the current)",
        "verbose": "echo each command as it runs",
        **TARGET_HELP,
        **ALLOW_HELP,
        **LOCK_HELP,
    },
)
def rollback(
    c: Context,
    revision: int = Revision(0),
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
    allow_context: str | None = None,
    verbose: bool = False,
    no_wait: bool = False,
) -> None:
    """Return the Helm release to an earlier revision and wait until it is ready."""
    from todo_deploy.flow import lifecycle as flow

    wanted = [str(int(revision))] if int(revision) else []
    flags = {"provider": provider, "namespace": namespace, "kube_context": kube_context}
    t = target(c, {**flags, "timeouts.lock": 0 if no_wait else None}, verbose=verbose)
    guard_context(t, allow_context, "roll back")
    release, timeout = t.config.release, t.config.timeouts.rollout
    with failures(), flow.release_lock(t, "rollback", make_namespace=False).held():
        status = t.helm.status(release)
        if not status:
            raise Exit(
                f"release {release} is not installed in {t.config.namespace}: "
                "nothing to roll back (`invoke deploy` installs it)",
                1,
            )
        if not wanted and int(status.get("version") or 0) <= 1:
            # An unchanged deploy makes no revision, so a release may have only its first.
            raise Exit(
                f"release {release} has only revision {status.get('version', 1)}: there is no "
                "earlier one to roll back to (`helm history` lists them; `--revision N` names one)",
                1,
            )
        t.helm.run(
            "rollback", release, *wanted, "--wait", "--timeout", f"{timeout}s",
            step="helm rollback", timeout=timeout + 60,
        )  # fmt: skip
        now = t.helm.status(release)
    info = now.get("info", {})
    t.console.print(
        f"release {release}: revision {now.get('version', '?')} ({info.get('description', '')})"
    )


@task(help=TARGET_HELP)
def isolation(
    c: Context,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> None:
    """Prove the NetworkPolicies hold: MCP and PostgreSQL refuse pods outside the app."""
    from todo_deploy.day2.isolation import IsolationCheck

    refuse_dry(c, "isolation", "its probes are real connections from pods it starts")
    t = _target(c, provider, namespace, kube_context)
    t.console.print("probing with real connections from throwaway pods (about 15 s) ...")
    with failures():
        check = IsolationCheck(t)
        verdicts = check.run()
        t.console.print(_verdict_table(verdicts))
        if not all(v.ok for v in verdicts):
            raise Exit(check.explain(verdicts), 1)
    t.console.print(
        "isolation: enforced (MCP and PostgreSQL answer the app's pods only; the front end "
        "and back end those and the ingress controller)"
    )


def _verdict_table(verdicts: list[Verdict]) -> Table:
    from rich.table import Table

    table = Table("from", "to", "connection", "expected", "")
    for v in verdicts:
        mark = "ok" if v.ok else "FAIL"
        table.add_row(v.source, v.target, v.observed, v.expected, mark)
    return table
