"""Let `docker run --privileged` (which kind always uses) work in sandboxes missing a capability.

Some CI sandboxes (these machines) drop CAP_SYS_RESOURCE from every process's bounding set, so
runc refuses any container asking for it ("unable to apply caps: operation not permitted"), and
a privileged container asks for every capability. The fix, for CI only: an OCI runtime wrapper
that removes CAP_SYS_RESOURCE from the container's spec (`create --bundle`) and from the process
spec (`exec --process`), then runs runc; dockerd makes it the default runtime. Containers that
never ask for the capability (the host provider's pods) run exactly as before. Users' machines
have the capability and need none of this.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import signal
import time
from pathlib import Path

from todo_deploy.base import paths
from todo_deploy.base.debian import ensure_packages
from todo_deploy.base.engine import LOCAL_SOCKET
from todo_deploy.base.run import Runner

RUNTIME_NAME = "nosysres"
WRAPPER = Path("/opt/todo-ci/libexec/runc-nosysres")
DAEMON_JSON = Path("/etc/docker/daemon.json")
DOCKER_PIDFILE = Path("/var/run/docker.pid")  # dockerd's own, whoever started it
SOCKET_GROUP = "docker"
RUNC = "/usr/sbin/runc"

WRAPPER_SCRIPT = f"""#!/bin/sh
# CI only (tests/support/kind/runtime.py): drop CAP_SYS_RESOURCE, which this sandbox's bounding
# set lacks, from the container or process spec, then hand over to runc.
set -e
drop() {{
  jq 'def strip: with_entries(.value |=
        if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end);
      if .process.capabilities? then .process.capabilities |= strip
      elif .capabilities? then .capabilities |= strip else . end' \\
    "$1" > "$1.nosysres" && mv "$1.nosysres" "$1"
}}
previous=""
for arg in "$@"; do
  case "$previous" in
    --bundle|-b) drop "$arg/config.json" ;;
    --process|-p) drop "$arg" ;;
  esac
  case "$arg" in
    --bundle=*) drop "${{arg#--bundle=}}/config.json" ;;
    --process=*) drop "${{arg#--process=}}" ;;
  esac
  previous="$arg"
done
exec {RUNC} "$@"
"""


class RuntimeSetupError(RuntimeError):
    pass


def lacks_sys_resource() -> bool:
    """True when CAP_SYS_RESOURCE (bit 24) is missing from this process's bounding set."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return not int(line.split()[1], 16) & (1 << 24)
    return False


def ensure_runtime(runner: Runner) -> list[str]:
    """Make dockerd able to run kind's nodes here; idempotent. Returns what was changed."""
    if os.geteuid() != 0:
        raise RuntimeSetupError("the kind CI runtime set-up changes dockerd: run it as root")
    changed = ensure_packages(runner, {"jq": "jq", RUNC: "runc"})
    changed += _ensure_wrapper()
    # kind bind-mounts /lib/modules read-only into every node.
    if not Path("/lib/modules").exists():
        Path("/lib/modules").mkdir(parents=True)
        changed.append("created /lib/modules")
    changed += _ensure_socket_group(runner)
    if _daemon_json_wants_runtime():
        changed.append(f"registered runtime {RUNTIME_NAME} in {DAEMON_JSON}")
    if default_runtime(runner) != RUNTIME_NAME:
        reload_dockerd(runner)
        changed.append(f"dockerd reloaded (SIGHUP): default runtime {RUNTIME_NAME}")
    return changed


def _ensure_wrapper() -> list[str]:
    if WRAPPER.exists() and WRAPPER.read_text() == WRAPPER_SCRIPT:
        return []
    WRAPPER.parent.mkdir(parents=True, exist_ok=True)
    staged = WRAPPER.with_suffix(".new")
    staged.write_text(WRAPPER_SCRIPT)
    staged.chmod(0o755)
    staged.replace(WRAPPER)
    return [f"wrote {WRAPPER}"]


def _daemon_json_wants_runtime() -> bool:
    """Add the runtime to daemon.json, keeping every other setting; True when it changed."""
    settings = json.loads(DAEMON_JSON.read_text()) if DAEMON_JSON.exists() else {}
    wanted = {
        **settings,
        "runtimes": {**settings.get("runtimes", {}), RUNTIME_NAME: {"path": str(WRAPPER)}},
        "default-runtime": RUNTIME_NAME,
    }
    if wanted == settings:
        return False
    DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
    staged = DAEMON_JSON.with_suffix(".new")
    staged.write_text(json.dumps(wanted, indent=2) + "\n")
    staged.replace(DAEMON_JSON)
    return True


def default_runtime(runner: Runner) -> str:
    result = runner.run(
        ["docker", "info", "--format", "{{.DefaultRuntime}}"],
        step="docker info",
        mutating=False,
    )
    return result.stdout.strip()


def dockerd_pid() -> int:
    """dockerd's pid: the suite's pid file (engine.py) if it started it, else dockerd's own."""
    for pidfile in (paths.state_dir("dockerd", "dockerd.pid"), DOCKER_PIDFILE):
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}/exe").resolve().name == "dockerd":
            return pid
    raise RuntimeSetupError(
        f"no running dockerd found through {paths.state_dir('dockerd', 'dockerd.pid')} or "
        f"{DOCKER_PIDFILE}: start the engine first (the suite does: `invoke cluster.up`)"
    )


def reload_dockerd(runner: Runner, timeout: float = 30) -> None:
    """SIGHUP: dockerd rereads daemon.json; running containers are not touched."""
    os.kill(dockerd_pid(), signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if default_runtime(runner) == RUNTIME_NAME:
            return
        time.sleep(0.5)
    raise RuntimeSetupError(
        f"dockerd did not take default-runtime {RUNTIME_NAME} from {DAEMON_JSON} within "
        f"{timeout:.0f} s after SIGHUP: see its log for a rejected configuration"
    )


def _ensure_socket_group(runner: Runner) -> list[str]:
    """Members of group `docker` may use the engine (dockerd does this when the group exists
    at its start; a group made later needs the socket re-grouped)."""
    changed = []
    try:
        gid = grp.getgrnam(SOCKET_GROUP).gr_gid
    except KeyError:
        runner.run(["groupadd", "--system", SOCKET_GROUP], step="groupadd docker")
        gid = grp.getgrnam(SOCKET_GROUP).gr_gid
        changed.append(f"created group {SOCKET_GROUP}")
    socket = Path(LOCAL_SOCKET)
    if socket.stat().st_gid != gid:
        shutil.chown(socket, group=SOCKET_GROUP)
        socket.chmod(0o660)
        changed.append(f"{socket} now group {SOCKET_GROUP}")
    return changed
