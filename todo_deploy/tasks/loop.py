"""`invoke watch`: the inner loop on the cluster."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from invoke import Context

from todo_deploy.tasks.common import (
    ALLOW_HELP,
    LOCK_HELP,
    TARGET_HELP,
    failures,
    guard_context,
    refuse_dry,
    target,
    task,
)

if TYPE_CHECKING:
    from todo_deploy.steps.target import Target


@task(
    help={
        **TARGET_HELP,
        **ALLOW_HELP,
        **LOCK_HELP,
        "logs": "stream every component's logs meanwhile (default on; --no-logs for quiet)",
        "verbose": "echo each command as it runs",
    }
)
def watch(
    c: Context,
    provider: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
    allow_context: str | None = None,
    logs: bool = True,
    verbose: bool = False,
    no_wait: bool = False,
) -> None:
    """Deploy, then on each save rebuild and roll only the changed image; Ctrl-C stops."""
    from todo_deploy.flow import lifecycle as flow

    refuse_dry(c, "watch", "it rebuilds and rolls on each save")
    flags = {"provider": provider, "namespace": namespace, "kube_context": kube_context}
    t = target(c, {**flags, "timeouts.lock": 0 if no_wait else None}, verbose=verbose)
    guard_context(t, allow_context, "deploy to")
    with failures(), flow.release_lock(t, "watch").held():  # for the whole watch
        _watch(t, logs)


def _watch(t: Target, logs: bool) -> None:
    from todo_deploy.day2.follow import LogFollower, app_selector, console_emitter
    from todo_deploy.flow import lifecycle as flow
    from todo_deploy.flow.watch import Watcher, file_batches, watch_roots
    from todo_deploy.steps import images

    # One builder for the whole run: the engine is asked about the base images once.
    hooks = flow.Hooks(build_images=images.BuildSession())
    with failures():
        # From wherever the sources are now; a no-op when unchanged.
        flow.deploy(t, hooks=hooks, locked=True)
        watcher = Watcher(t, hooks)
    follower = None
    if logs:
        emit = console_emitter(t.console, t.catalogue.names())
        follower = LogFollower(
            t.kube, app_selector(t.config.release, t.catalogue.names()), emit, tail=5
        )
        threading.Thread(target=follower.run, daemon=True, name="logs").start()
    roots = watch_roots()

    def armed() -> None:
        names = ", ".join(r.name for r in roots)
        t.console.print(f"watching {names} (Ctrl-C stops; the release stays deployed)")

    try:
        watcher.run(file_batches(roots, ready=armed), t.console.print)
    except KeyboardInterrupt:
        t.console.print("interrupted during a roll: `invoke deploy` converges the release")
    finally:
        if follower:
            follower.stop()
    t.console.print(
        "stopped watching: the release stays as deployed "
        f"({', '.join(sorted(watcher.deployed.values()))})"
    )
