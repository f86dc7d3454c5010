"""A release whose new pods never become ready fails saying what and why, though helm rolled back.

The JSON under fixtures/evidence/ was recorded from the real `host` cluster (namespace
evidence-probe, a one-replica Deployment `probe-backend` of the back-end image, helm 4.1.4
`upgrade --rollback-on-failure --wait`; only `managedFields` stripped): a process that prints
and exits 3 (crash), a readiness probe that fails (unready), an image not in the engine
(neverpull). `crash-helm.stderr` is that helm's own failure output.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.fakes import FakeExec, FakeHostProvider, Harness
from todo_deploy.base.config import build_config, collection_defaults
from todo_deploy.base.kube import Helm, Kube, wait_until
from todo_deploy.base.run import CommandError, Runner
from todo_deploy.flow import lifecycle as flow
from todo_deploy.steps import evidence, failures, install
from todo_deploy.steps.evidence import LOG_LINES, RolloutError, Watch

FIXTURES = Path(__file__).parent / "fixtures" / "evidence"
CRASH_POD = "probe-backend-86cbf865c7-bh9lk"
CRASH_STARTED = datetime.fromisoformat("2026-11-25T14:26:36+00:00")  # when that upgrade began
UNREADY_STARTED = datetime.fromisoformat("2026-11-25T14:28:59+00:00")
TOKEN = "sk-test-evidence-0123456789"
CRASH_OUTPUT = f"starting probe-backend\nOPENAI_API_KEY={TOKEN}\nboom: OPENAI_BASE_URL is not a URL"


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def _pod(listing: str, name_part: str) -> dict[str, Any]:
    return next(p for p in _load(listing)["items"] if name_part in p["metadata"]["name"])


def _helm_failure(fake: FakeExec, runner: Runner, stderr: str) -> CommandError:
    fake.on("helm", "upgrade", rc=1, stderr=stderr)
    with pytest.raises(CommandError) as failed:
        runner.run(
            ["helm", "upgrade", "--install", "probe", "chart"], step="helm upgrade --install"
        )
    return failed.value


def _crash_cluster() -> tuple[FakeExec, Runner, Kube]:
    fake = FakeExec()
    fake.on("get", "pods", stdout=_load("crash-pods-during.json"))
    fake.on("logs", stdout=CRASH_OUTPUT + "\n")
    fake.on("get", "events", stdout=_load("crash-events.json"))
    runner = Runner(execute=fake, printer=lambda line: None, base_env={})
    runner.add_secrets([TOKEN])
    return fake, runner, Kube(runner, "kubectl", "todo-host", "evidence-probe")


def test_a_crash_looping_container_is_named_with_its_exit_code_and_restarts() -> None:
    pod = _pod("crash-pods-during.json", CRASH_POD)
    [trouble] = failures.troubles(pod)
    assert trouble.workload == "deployment/probe-backend"
    assert (trouble.container, trouble.kind) == ("backend", "crash")
    assert trouble.state == "CrashLoopBackOff, exit code 3 (Error), 2 restarts"
    assert trouble.log_flags == ("--previous",)  # the crashed run, not the one starting


def test_a_pod_being_deleted_by_the_rollback_is_remembered_as_last_seen() -> None:
    fake, _, kube = _crash_cluster()
    watch = Watch(kube)
    watch.poll()
    fake.on("get", "pods", stdout=_load("crash-pods-after.json"))  # now Terminating
    watch.poll()
    [trouble] = watch.found.values()
    assert trouble.state == "CrashLoopBackOff, exit code 3 (Error), 2 restarts"


def test_the_ready_previous_version_is_no_trouble() -> None:
    assert failures.troubles(_pod("crash-pods-during.json", "5c8d89cc5c")) == []


def test_an_image_missing_from_the_engine_says_so_without_logs() -> None:
    [trouble] = failures.troubles(_pod("neverpull-pods-during.json", "68576f898"))
    assert trouble.kind == "image" and trouble.log_flags is None
    assert trouble.state.startswith("ErrImageNeverPull, Container image")
    assert "todo-backend:does-not-exist" in trouble.state


def test_a_failing_readiness_probe_is_told_by_its_event() -> None:
    [trouble] = failures.troubles(_pod("unready-pods-during.json", "778f886b64"))
    assert (trouble.kind, trouble.state) == ("unready", "running but not Ready")
    lines = evidence.warnings(_load("unready-events.json"), UNREADY_STARTED, ("probe-backend-",))
    # The BackOff of an earlier attempt (13 s before) is older than this release: left out.
    assert lines == [
        "pod/probe-backend-778f886b64-rtwhr Unhealthy: Readiness probe failed: database not "
        "reachable: connection refused (x14)"
    ]


def test_warnings_of_other_workloads_are_left_out() -> None:
    events = _load("neverpull-events.json")
    assert evidence.warnings(events, UNREADY_STARTED, ("todo-backend-",)) == []
    mine = evidence.warnings(events, UNREADY_STARTED, ("probe-backend-68576f898-ltc56",))
    assert any("ErrImageNeverPull" in line for line in mine), mine


def test_helms_error_names_the_workload() -> None:
    stderr = (FIXTURES / "crash-helm.stderr").read_text()
    assert evidence.failed_workloads(stderr) == ["deployment/probe-backend"]


def test_the_rolled_back_release_is_told_with_its_revisions() -> None:
    fake = FakeExec()
    fake.on("helm", "status", stdout=_load("status-rolled-back.json"))
    runner = Runner(execute=fake, base_env={})
    config = build_config(collection_defaults(), {"provider": "host"})
    helm = Helm(runner, "helm", "todo-host", config.namespace)
    assert install.rollback_outcome(helm, config.release) == (
        "rolled back to revision 1 (now revision 3): the previous version is still serving"
    )
    fake.on("helm", "status", rc=1, stderr="Error: release: not found")
    assert "nothing was serving" in install.rollback_outcome(helm, config.release)


def test_evidence_seen_before_the_rollback_explains_the_failure_after_it() -> None:
    fake, runner, kube = _crash_cluster()
    watch = Watch(kube, since=CRASH_STARTED)
    watch.poll()  # what the watch thread saw while helm waited
    fake.on("get", "pods", stdout={"items": []})  # then the rollback deleted the new pod
    failure = _helm_failure(fake, runner, (FIXTURES / "crash-helm.stderr").read_text())

    explained = watch.explain(failure, lambda: "rolled back to revision 1 (still serving)")

    assert isinstance(explained, RolloutError)
    block = explained.block()
    lines = block.splitlines()
    assert lines[0] == (
        "deploy failed: the new version of deployment/probe-backend did not become ready: "
        "container backend: CrashLoopBackOff, exit code 3 (Error), 2 restarts"
    )
    assert f"  last output of pod/{CRASH_POD}, container backend:" in lines
    assert "    boom: OPENAI_BASE_URL is not a URL" in lines
    assert TOKEN not in block and "OPENAI_API_KEY=******" in block  # logs are masked too
    assert any("BackOff: Back-off restarting failed container backend" in ln for ln in lines)
    assert "  rolled back to revision 1 (still serving)" in lines
    assert "fix: the process exits at start" in block
    assert "step failed: helm upgrade --install" in block  # helm's own block follows
    assert "has been rolled back" in block
    logs = [c.argv for c in fake.calls if "logs" in c.argv]
    assert logs == [("kubectl", "--context", "todo-host", "-n", "evidence-probe", "logs",
                     CRASH_POD, "-c", "backend", "--previous", f"--tail={LOG_LINES}")]  # fmt: skip


def test_no_more_than_twenty_lines_of_output_are_shown() -> None:
    fake, runner, kube = _crash_cluster()
    fake.on("logs", stdout="\n".join(f"line {i}" for i in range(100)))
    watch = Watch(kube, since=CRASH_STARTED)
    failure = _helm_failure(fake, runner, (FIXTURES / "crash-helm.stderr").read_text())
    block = watch.explain(failure, lambda: "rolled back").block()
    shown = [line for line in block.splitlines() if line.startswith("    line ")]
    assert len(shown) == LOG_LINES and shown[-1] == "    line 99"


def test_the_watch_thread_records_while_the_release_runs() -> None:
    fake, _, kube = _crash_cluster()
    with Watch(kube, poll_seconds=0.05) as watch:
        assert wait_until(lambda: bool(watch.found), timeout=5, interval=0.05), fake.lines
    [trouble] = watch.found.values()
    assert trouble.pod == CRASH_POD and "boom" in trouble.output


def test_a_container_seen_fine_again_is_forgotten() -> None:
    fake, _, kube = _crash_cluster()
    watch = Watch(kube)
    watch.poll()
    assert watch.found
    recovered = copy.deepcopy(_load("crash-pods-during.json"))
    for pod in recovered["items"]:
        pod["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    fake.on("get", "pods", stdout=recovered)
    watch.poll()
    assert watch.found == {}


def test_other_helm_failures_pass_through_untouched() -> None:
    fake, runner, kube = _crash_cluster()
    watch = Watch(kube)
    failure = _helm_failure(fake, runner, "Error: values don't meet the specifications")
    assert watch.explain(failure, lambda: "unused") is failure
    assert not any("pods" in c.argv for c in fake.calls)


def test_kubectl_methods_rollout_timeout_names_its_workload() -> None:
    fake, _, kube = _crash_cluster()
    fake.on("rollout", rc=1, stderr="error: timed out waiting for the condition")
    with pytest.raises(CommandError) as failed:
        kube.rollout_status("deployment/probe-backend", 60)
    block = Watch(kube).explain(failed.value, lambda: "not rolled back").block()
    assert block.startswith(
        "deploy failed: the new version of deployment/probe-backend did not "
        "become ready: container backend: CrashLoopBackOff"
    )


def test_deploy_fails_saying_what_and_why(harness: Harness) -> None:
    h = harness
    h.runner.add_secrets([TOKEN])
    h.fake.on("get", "pods", stdout=_load("crash-pods-during.json"))
    h.fake.on("logs", stdout=CRASH_OUTPUT)
    h.fake.on("get", "events", stdout=_load("crash-events.json"))
    h.fake.on("helm", "status", stdout=_load("status-rolled-back.json"))
    h.fake.on("helm", "upgrade", rc=1, stderr=(FIXTURES / "crash-helm.stderr").read_text())
    with pytest.raises(RolloutError) as failed:
        flow.deploy(h.target(h.config(provider="host"), FakeHostProvider()), hooks=h.hooks())
    block = failed.value.block()
    assert "deployment/probe-backend did not become ready: container backend: CrashLoop" in block
    assert "boom: OPENAI_BASE_URL is not a URL" in block and TOKEN not in block
    assert "rolled back to revision 1 (now revision 3)" in block


def test_an_unready_containers_headline_carries_the_probes_message() -> None:
    fake = FakeExec()
    fake.on("get", "pods", stdout=_load("unready-pods-during.json"))
    fake.on("get", "events", stdout=_load("unready-events.json"))
    runner = Runner(execute=fake, base_env={})
    watch = Watch(Kube(runner, "kubectl", None, "evidence-probe"), since=UNREADY_STARTED)
    watch.poll()
    fake.on("get", "pods", stdout=_load("unready-pods-after.json"))  # the rollback deletes it
    failure = _helm_failure(fake, runner, (FIXTURES / "crash-helm.stderr").read_text())
    block = watch.explain(failure, lambda: "rolled back").block()
    assert block.splitlines()[0].endswith(
        "container backend: running but not Ready: Readiness probe failed: database not "
        "reachable: connection refused (x14)"
    )
    assert "fix: the container runs but its readiness probe fails" in block


def test_an_older_attempts_pod_killed_by_its_deletion_is_not_the_cause() -> None:
    # Recorded: the failed upgrade before this one left its pod Terminating (exit 137 when
    # killed); this release's own pod waits for an image the engine does not have.
    fake = FakeExec()
    older = _pod("crash-pods-after.json", CRASH_POD)
    listing = _load("neverpull-pods-during.json")
    fake.on("get", "pods", stdout={"items": [older, *listing["items"]]})
    fake.on("get", "events", stdout=_load("neverpull-events.json"))
    runner = Runner(execute=fake, base_env={})
    watch = Watch(Kube(runner, "kubectl", None, "evidence-probe"), since=UNREADY_STARTED)
    watch.poll()
    failure = _helm_failure(fake, runner, (FIXTURES / "crash-helm.stderr").read_text())
    said = watch.explain(failure, lambda: "rolled back").block().split("step failed:")[0]
    lines = said.splitlines()
    assert lines[0].endswith(
        "container backend: ErrImageNeverPull, Container image "
        '"todo-backend:does-not-exist" is not present with pull policy of '
        "Never"
    )
    assert CRASH_POD not in said
    assert "fix: the image is not in the cluster's container engine" in said


def test_a_container_over_its_memory_limit_is_told_oom_killed() -> None:
    # Recorded: `python -c "bytearray(300_000_000)"` under a 64Mi limit.
    [trouble] = failures.troubles(_pod("oom-pods-during.json", "5fb879cc48"))
    assert trouble.kind == "oom"
    assert "exit code 137 (OOMKilled)" in trouble.state
    assert failures.FIXES["oom"].startswith("the container went over its memory limit")


def test_an_unreadable_helm_status_still_leaves_the_evidence() -> None:
    fake, runner, kube = _crash_cluster()
    failure = _helm_failure(fake, runner, (FIXTURES / "crash-helm.stderr").read_text())

    def garbled() -> str:
        raise ValueError("Expecting value: line 1 column 1")

    block = Watch(kube).explain(failure, garbled).block()
    assert "container backend: CrashLoopBackOff" in block and "see `helm history`" in block
