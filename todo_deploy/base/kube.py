"""kubectl and helm argv building and JSON reads for one context and namespace."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from todo_deploy.base.run import Result, Runner

# Owner of the fields the suite applies server-side; not "kubectl", whose server-side applies the
# API server mirrors into the last-applied annotation when one exists.
FIELD_MANAGER = "todo-deploy"


@dataclass
class Kube:
    runner: Runner
    kubectl: str
    context: str | None
    namespace: str
    kubeconfig: str | None = None  # None: the user's (KUBECONFIG or ~/.kube/config)

    def argv(self, *args: str, namespaced: bool = True) -> list[str]:
        argv = [self.kubectl]
        if self.kubeconfig:
            argv += ["--kubeconfig", self.kubeconfig]
        if self.context:
            argv += ["--context", self.context]
        if namespaced:
            argv += ["-n", self.namespace]
        return [*argv, *args]

    def run(self, *args: str, step: str, namespaced: bool = True, **kwargs: Any) -> Result:
        return self.runner.run(self.argv(*args, namespaced=namespaced), step=step, **kwargs)

    def get_json(self, *what: str, step: str, namespaced: bool = True) -> dict[str, Any] | None:
        """`kubectl get ... -o json`; None when the object is absent or the cluster unreachable."""
        result = self.run(
            "get",
            *what,
            "-o",
            "json",
            step=step,
            namespaced=namespaced,
            check=False,
            mutating=False,
        )
        if not result.ok or not result.stdout.strip():
            return None
        return json.loads(result.stdout)

    def apply(self, manifest: dict[str, Any] | str, *, step: str) -> Result:
        """Apply through stdin so nothing (secrets included) is written to disk."""
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        return self.run("apply", "-f", "-", step=step, namespaced=False, stdin=text)

    def apply_server_side(
        self,
        manifest: dict[str, Any],
        *,
        step: str,
        output: Sequence[str] = (),
        manager: str = FIELD_MANAGER,
        force: bool = True,
        check: bool = True,
    ) -> Result:
        """Server-side apply, through stdin, as `manager` (the suite's own by default).

        Unlike client-side apply, it writes no last-applied-configuration annotation, which
        would hold a Secret's values in plain text (kubernetes#23564). `output` adds `-o ...`;
        without `force`, a field another manager owns is a refusal, not a take-over.
        """
        forced = ["--force-conflicts"] if force else []
        return self.run(
            "apply", "--server-side", f"--field-manager={manager}", *forced,
            *output, "-f", "-", step=step, namespaced=False, stdin=json.dumps(manifest),
            check=check,
        )  # fmt: skip

    def rollout_status(self, workload: str, timeout: int) -> Result:
        return self.run(
            "rollout",
            "status",
            workload,
            f"--timeout={timeout}s",
            step=f"rollout {workload}",
            timeout=timeout + 30,
        )


@dataclass
class Helm:
    """helm for one release namespace and kube context, as Kube is for kubectl."""

    runner: Runner
    helm: str
    context: str | None
    namespace: str

    def context_flags(self) -> list[str]:
        return ["--kube-context", self.context] if self.context else []

    def argv(self, *args: str) -> list[str]:
        return [self.helm, "--namespace", self.namespace, *self.context_flags(), *args]

    def run(self, *args: str, step: str, **kwargs: Any) -> Result:
        return self.runner.run(self.argv(*args), step=step, **kwargs)

    def status(self, release: str) -> dict[str, Any]:
        """`helm status -o json` of the release; {} when it is not installed."""
        result = self.run(
            "status", release, "-o", "json", step="helm status", check=False, mutating=False
        )
        if not result.ok or not result.stdout.strip():
            return {}
        return json.loads(result.stdout)


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Poll `check` until it is true or `timeout` seconds of polling have passed."""
    waited = 0.0
    while not check():
        if waited >= timeout:
            return False
        sleep(interval)
        waited += interval
    return True
