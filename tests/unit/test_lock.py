"""The release lock on a fake API server that keeps one Lease, as the real one does: create is
refused while it exists, replace needs the current resourceVersion."""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any

import pytest

from tests.support.fakes import Harness
from todo_deploy.base.kube import Kube
from todo_deploy.base.run import Result
from todo_deploy.steps import lock
from todo_deploy.steps.lock import LockBusy, ReleaseLock


class LeaseServer:
    """Namespace todo-app exists; one Lease at most, versioned."""

    def __init__(self, h: Harness) -> None:
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.mutex = threading.Lock()
        # The namespace: Active, Terminating (for `terminating` more creates), or None (absent).
        self.namespace: str | None = "Active"
        self.terminating = 0
        h.fake.answer("create", "namespace", by=self.create_namespace)
        h.fake.answer("create", "-f", "-", by=self.create)
        h.fake.answer("replace", "-f", "-", by=self.replace)
        h.fake.answer("get", "lease", by=self.get)
        h.fake.answer("delete", "lease", by=self.delete)

    def create_namespace(self, argv: tuple[str, ...], stdin: str | None) -> Result:
        with self.mutex:
            if self.namespace == "Terminating":
                return Result(argv, 1, "", "Error from server (AlreadyExists): object is being "
                              'deleted: namespaces "todo-app" already exists')  # fmt: skip
            self.namespace = "Active"
            return Result(argv, 0, "namespace/todo-app created")

    def create(self, argv: tuple[str, ...], stdin: str | None) -> Result:
        with self.mutex:
            if self.namespace == "Terminating":
                self.terminating -= 1
                if self.terminating <= 0:
                    self.namespace = None
                return Result(argv, 1, "", 'Error from server (Forbidden): leases "x" is forbidden:'
                              " unable to create new content in namespace todo-app because it is"
                              " being terminated")  # fmt: skip
            if self.namespace is None:
                return Result(argv, 1, "", 'Error from server (NotFound): namespaces "todo-app" '
                              "not found")  # fmt: skip
            if self.lease is not None:
                return Result(argv, 1, "", 'Error from server (AlreadyExists): leases "x"')
            self._store(json.loads(stdin or "{}"))
            return Result(argv, 0, "lease created")

    def replace(self, argv: tuple[str, ...], stdin: str | None) -> Result:
        with self.mutex:
            new = json.loads(stdin or "{}")
            if self.lease is None or new["metadata"]["resourceVersion"] != str(self.version):
                return Result(argv, 1, "", "Error from server (Conflict): the object was modified")
            self._store(new)
            return Result(argv, 0, "lease replaced")

    def get(self, argv: tuple[str, ...], stdin: str | None) -> Result:
        with self.mutex:
            if self.lease is None:
                return Result(argv, 1, "", "Error from server (NotFound)")
            return Result(argv, 0, json.dumps(self.lease))

    def delete(self, argv: tuple[str, ...], stdin: str | None) -> Result:
        with self.mutex:
            self.lease = None
            return Result(argv, 0, "deleted")

    def _store(self, lease: dict[str, Any]) -> None:
        self.version += 1
        lease["metadata"]["resourceVersion"] = str(self.version)
        self.lease = lease

    @property
    def holder(self) -> str | None:
        return None if self.lease is None else self.lease["spec"]["holderIdentity"]

    def held_by(self, identity: str, *, renewed_seconds_ago: float, user: str = "alice") -> None:
        renewed = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
            seconds=renewed_seconds_ago
        )
        self._store(
            {
                "metadata": {
                    "name": "todo-release-lock",
                    "annotations": {
                        "todo-deploy/user": user,
                        "todo-deploy/host": "laptop-2",
                        "todo-deploy/task": "deploy",
                    },
                },
                "spec": {
                    "holderIdentity": identity,
                    "leaseDurationSeconds": 30,
                    "acquireTime": "2026-12-07T10:00:00.000000Z",
                    "renewTime": lock._micro(renewed),
                },
            }
        )


def _lock(h: Harness, wait: float = 5) -> ReleaseLock:
    kube = Kube(h.runner, "kubectl", "todo", "todo-app")
    return ReleaseLock(kube, "todo", "deploy", h.printed.append, wait_seconds=wait)


@pytest.fixture
def server(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> LeaseServer:
    monkeypatch.setattr(lock, "POLL_SECONDS", 0.05)
    return LeaseServer(harness)


def test_a_free_lock_is_taken_held_and_released(harness: Harness, server: LeaseServer) -> None:
    held = _lock(harness)
    with held.held():
        assert server.lease is not None and server.holder == held.identity
        notes = server.lease["metadata"]["annotations"]
        assert notes["todo-deploy/task"] == "deploy" and notes["todo-deploy/host"]
    assert server.lease is None


def test_a_held_lock_is_refused_at_once_with_no_wait_naming_the_holder(
    harness: Harness, server: LeaseServer
) -> None:
    server.held_by("laptop-2/4242", renewed_seconds_ago=1)
    with pytest.raises(LockBusy) as refused, _lock(harness, wait=0).held():
        pytest.fail("the body ran without the lock")
    message = str(refused.value)
    assert "`invoke deploy` of alice on laptop-2 (since 2026-12-07T10:00:00Z)" in message
    assert "without --no-wait" in message
    assert server.holder == "laptop-2/4242"  # left alone


def test_a_second_run_waits_saying_who_holds_it_then_goes_on(
    harness: Harness, server: LeaseServer
) -> None:
    server.held_by("laptop-2/4242", renewed_seconds_ago=1)
    threading.Timer(0.3, lambda: server.delete((), None)).start()  # the holder finishes
    held = _lock(harness)
    with held.held():
        assert server.holder == held.identity
    waiting = [line for line in harness.printed if line.startswith("waiting:")]
    assert waiting == [
        "waiting: release todo is being changed by `invoke deploy` of alice on laptop-2 "
        "(since 2026-12-07T10:00:00Z)"
    ]


def test_a_crashed_holders_lease_lapses_and_is_taken_over(
    harness: Harness, server: LeaseServer
) -> None:
    server.held_by("laptop-2/4242", renewed_seconds_ago=45)  # past its 30 s
    held = _lock(harness, wait=0)
    with held.held():
        assert server.holder == held.identity
    assert any("took over the release lock" in line for line in harness.printed)


def test_a_lock_taken_away_meanwhile_is_not_deleted_and_is_said(
    harness: Harness, server: LeaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lock, "RENEW_SECONDS", 0.05)
    with _lock(harness).held():
        server.held_by("laptop-2/4242", renewed_seconds_ago=0)  # someone forced it
        threading.Event().wait(0.3)
    assert server.holder == "laptop-2/4242"
    assert any("was taken away" in line for line in harness.printed)


@pytest.mark.parametrize(("deletes_namespace", "warned"), [(True, False), (False, True)])
def test_a_lease_gone_with_the_namespace_is_said_unless_the_run_deleted_it(
    harness: Harness,
    server: LeaseServer,
    monkeypatch: pytest.MonkeyPatch,
    deletes_namespace: bool,
    warned: bool,
) -> None:
    monkeypatch.setattr(lock, "RENEW_SECONDS", 0.05)
    held = _lock(harness)
    held.deletes_namespace = deletes_namespace
    with held.held():
        server.delete((), None)  # the namespace went, and the lease in it
        threading.Event().wait(0.3)
    assert any("was taken away" in line for line in harness.printed) is warned


def test_the_dry_run_takes_no_lock(harness: Harness) -> None:
    harness.runner.dry_run = True
    with _lock(harness).held():
        pass
    assert not harness.fake.calls
    assert harness.printed == ["[dry-run] hold the release lock (Lease todo-release-lock)"]


def test_a_deploy_waits_for_a_teardown_deleting_the_namespace(
    harness: Harness, server: LeaseServer
) -> None:
    h = harness
    server.namespace, server.terminating = "Terminating", 2  # then gone
    with _lock(h).held():
        assert server.lease is not None
    assert "kubectl --context todo create namespace todo-app" in h.fake.lines
    assert [line for line in h.printed if line.startswith("waiting:")] == [
        "waiting: release todo is being changed by a teardown (its namespace is being deleted)"
    ]
