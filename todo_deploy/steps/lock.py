"""One lock per release, held while a run changes it: a Kubernetes Lease in its namespace.

Every client of the cluster sees it (two laptops may share one cluster), so two runs never
interleave their helm operations (one's failed upgrade rolling back the other's revision). A
second run waits, saying who holds the lock, or with `--no-wait` refuses. The holder renews
the lease while it runs; a holder that crashed stops renewing and its lease lapses.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from todo_deploy.base.kube import Kube
from todo_deploy.base.run import Result

LEASE_SECONDS = 30  # a crashed holder's lease lapses this long after its last renewal
RENEW_SECONDS = 10
POLL_SECONDS = 2.0
HOLDER_ANNOTATIONS = ("todo-deploy/user", "todo-deploy/host", "todo-deploy/task")


class LockBusy(RuntimeError):
    """Another run holds the release's lock (and we may not, or could no longer, wait)."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _micro(moment: datetime.datetime) -> str:
    """A Lease's MicroTime: RFC 3339 with microseconds, in UTC."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, as its annotations say."""

    identity: str
    user: str
    host: str
    task: str
    since: str
    renewed: datetime.datetime | None
    seconds: int

    @classmethod
    def of(cls, lease: dict[str, Any]) -> Holder:
        spec, notes = lease.get("spec", {}), lease["metadata"].get("annotations", {}) or {}
        renewed = spec.get("renewTime")
        return cls(
            identity=spec.get("holderIdentity", ""),
            user=notes.get("todo-deploy/user", "?"),
            host=notes.get("todo-deploy/host", "?"),
            task=notes.get("todo-deploy/task", "?"),
            since=spec.get("acquireTime", "?"),
            renewed=_parse(renewed) if renewed else None,
            seconds=int(spec.get("leaseDurationSeconds", LEASE_SECONDS)),
        )

    def lapsed(self, now: datetime.datetime) -> bool:
        return self.renewed is None or now > self.renewed + datetime.timedelta(seconds=self.seconds)

    def describe(self) -> str:
        if self is TERMINATING:
            return "a teardown (its namespace is being deleted)"
        return f"`invoke {self.task}` of {self.user} on {self.host} (since {self.since[:19]}Z)"


# Who "holds" a namespace that a teardown is deleting: wait until it is gone.
TERMINATING = Holder("namespace-terminating", "?", "?", "teardown", "now", None, 0)
# A lease released between our create and our read.
VANISHED = Holder("vanished", "?", "?", "?", "?", None, 0)


@dataclass
class ReleaseLock:
    """The lock of `release` in `kube`'s namespace, for one `task` (deploy, teardown, ...)."""

    kube: Kube
    release: str
    task: str
    say: Callable[[str], None]
    wait_seconds: float = 900  # 0: refuse at once (--no-wait)
    make_namespace: bool = True  # teardown: an absent namespace has nothing to lock
    deletes_namespace: bool = False  # teardown: the lease goes with the namespace, as expected
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}/{os.getpid()}")
    _stop: threading.Event = field(default_factory=threading.Event)
    _lost: str = ""

    @property
    def name(self) -> str:
        return f"{self.release}-release-lock"

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the `with` body; released (deleted) afterwards, if still ours."""
        if self.kube.runner.dry_run:
            self.say(f"[dry-run] hold the release lock (Lease {self.name})")
            yield
            return
        self._acquire()
        renewer = threading.Thread(target=self._renew, daemon=True, name=f"lock {self.name}")
        renewer.start()
        try:
            yield
        finally:
            self._stop.set()
            renewer.join(timeout=RENEW_SECONDS)
            self._release()

    def _acquire(self) -> None:
        deadline = time.monotonic() + self.wait_seconds
        said = ""
        while True:
            holder = self._try()
            if holder is None:
                return
            if holder is VANISHED and time.monotonic() < deadline + POLL_SECONDS * 5:
                time.sleep(POLL_SECONDS)  # released between our create and our read: again
                continue
            if self.wait_seconds <= 0 or time.monotonic() > deadline:
                raise LockBusy(
                    f"release {self.release} is being changed by {holder.describe()}: "
                    f"wait for it to finish, then run this again (without --no-wait, this "
                    f"waits). A lock left by a crashed run lapses {holder.seconds} s after its "
                    f"last renewal (Lease {self.kube.namespace}/{self.name})"
                )
            if holder.identity != said:
                self.say(f"waiting: release {self.release} is being changed by {holder.describe()}")
                said = holder.identity
            time.sleep(POLL_SECONDS)

    def _try(self) -> Holder | None:
        """Take the lease if free or lapsed; else who holds it.

        The create comes first (one call when the namespace is there, as on every redeploy);
        its refusal says whether the namespace is missing or being deleted."""
        created = self._create()
        if "being terminated" in created.stderr:
            return TERMINATING if self.make_namespace else None
        if not created.ok and f'namespaces "{self.kube.namespace}" not found' in created.stderr:
            if not self.make_namespace or not self._make_namespace():
                return TERMINATING if self.make_namespace else None
            created = self._create()
        if created.ok:
            return None
        if "AlreadyExists" not in created.stderr:
            raise LockBusy(f"could not take the release lock: {created.stderr.strip()}")
        current = self.kube.get_json("lease", self.name, step="read the release lock")
        if current is None:
            return VANISHED
        holder = Holder.of(current)
        if holder.identity == self.identity:
            return None
        if holder.lapsed(_now()) and self._replace(current, take=True):
            self.say(f"took over the release lock left by {holder.describe()} (lapsed)")
            return None
        return holder

    def _create(self) -> Result:
        return self.kube.run(
            "create", "-f", "-", step="take the release lock", check=False, namespaced=False,
            stdin=json.dumps(self._lease()),
        )  # fmt: skip

    def _make_namespace(self) -> bool:
        """Make the namespace for the lease; False when it is being deleted (wait for it)."""
        made = self.kube.run(
            "create", "namespace", self.kube.namespace, step="namespace for the release lock",
            check=False, namespaced=False,
        )  # fmt: skip
        if "being deleted" in made.stderr:  # AlreadyExists: object is being deleted
            return False
        if made.ok or "AlreadyExists" in made.stderr:
            return True
        raise LockBusy(f"could not make namespace {self.kube.namespace}: {made.stderr}")

    def _lease(self, acquired: str | None = None) -> dict[str, Any]:
        now = _micro(_now())
        notes = dict(
            zip(HOLDER_ANNOTATIONS, (_user(), socket.gethostname(), self.task), strict=True)
        )
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.kube.namespace, "annotations": notes},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": LEASE_SECONDS,
                "acquireTime": acquired or now,
                "renewTime": now,
            },
        }

    def _replace(self, current: dict[str, Any], *, take: bool) -> bool:
        """Write our lease over `current` (its resourceVersion: a concurrent change wins)."""
        acquired = None if take else current["spec"].get("acquireTime")
        lease = self._lease(acquired)
        lease["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        replaced = self.kube.run(
            "replace", "-f", "-", step="renew the release lock", check=False, namespaced=False,
            stdin=json.dumps(lease),
        )  # fmt: skip
        return replaced.ok

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            current = self.kube.get_json("lease", self.name, step="read the release lock")
            if current is None and self.deletes_namespace:
                return  # our own teardown deleted the namespace, and the lease with it
            if current is None or Holder.of(current).identity != self.identity:
                self._lost = "the release lock was taken away"
                return
            self._replace(current, take=False)

    def _release(self) -> None:
        # The renewer read the lease every RENEW_SECONDS and found it ours; it lapses only
        # LEASE_SECONDS after its last renewal, so nobody can have taken it since.
        if not self._lost:
            self.kube.run(
                "delete", "lease", self.name, "--ignore-not-found", "--wait=false",
                step="release the release lock", check=False,
            )  # fmt: skip
        if self._lost:
            self.say(f"warning: {self._lost} while this run held it")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "?"
