"""Pod cold start to the millisecond where the cluster runs containers on this host's Docker
engine (the host provider): the container's start as Docker recorded it (nanoseconds) to the
moment a watch on the API server sees the pod Ready. Pod status timestamps have 1 s resolution,
too coarse for a 3 s budget; the watch adds the kubelet's status update to the figure, so it
errs on the slow side."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from datetime import datetime

from tests.support.stack import Stack

READY_LINE = '{.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}'


class ReadyWatch:
    """Records, per pod uid, the local time a watch first sees the pod Ready."""

    def __init__(self, stack: Stack, component: str):
        argv = stack.kube.argv(
            "get", "pods", "-l", f"component={component}", "--watch", "-o", f"jsonpath={READY_LINE}"
        )
        self.ready_at: dict[str, float] = {}
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            uid, _, status = line.strip().partition(" ")
            if status == "True":
                self.ready_at.setdefault(uid, time.time())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.thread.join(timeout=10)


def docker_started_at(container_id: str) -> float:
    """Epoch seconds at which Docker started the container ("docker://<id>" from pod status)."""
    result = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", container_id.removeprefix("docker://")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    # RFC 3339 with nanoseconds; Python parses at most microseconds.
    stamp = re.sub(r"(\.\d{6})\d+", r"\1", result.stdout.strip()).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def precise_cold_start(pod: dict, watch: ReadyWatch) -> float:
    """Last container start (Docker) to Ready (watch) for a pod the watch saw become Ready."""
    uid = pod["metadata"]["uid"]
    assert uid in watch.ready_at, f"the watch never saw {pod['metadata']['name']} Ready"
    started = max(docker_started_at(s["containerID"]) for s in pod["status"]["containerStatuses"])
    return watch.ready_at[uid] - started
