"""Check everything a deploy needs before anything changes, and report every gap at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from todo_deploy.base.clusters import ProviderEntry, provider_entry
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import SPECS, ToolError, Tools
from todo_deploy.steps.install import load_manifests, rendered_namespaces
from todo_deploy.steps.secrets import SecretError, collect
from todo_deploy.steps.target import Target

# The stack's memory requests (2x frontend, 2x backend, mcp, postgres) plus system pods.
STACK_MEMORY_MB = 2048

INSTALL_HINTS = {
    "docker": "install Docker (Debian: `apt-get install docker.io`; macOS/Windows: Docker Desktop)",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
    "helm": "install Helm 3+: https://helm.sh/docs/intro/install/ (or use --method kubectl)",
    "minikube": "install Minikube: https://minikube.sigs.k8s.io/docs/start/ "
    "(or choose --provider existing/host)",
}


class PreflightError(RuntimeError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"preflight found {len(problems)} problem(s), nothing was changed:\n{listed}"
        )


def read_mem_available_mb(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None  # not Linux: Docker Desktop's VM limits are checked by minikube itself
    return None


def _start_engine(runner: Runner) -> str:
    from todo_deploy.base.engine import ensure_engine

    return ensure_engine(runner)


def preflight(
    target: Target,
    *,
    mem_available_mb: Callable[[], int | None] = read_mem_available_mb,
    start_engine: Callable[[Runner], str] = _start_engine,
    openai: bool = False,
) -> list[str]:
    """Return what was found (tool versions, engine); raise PreflightError listing every gap."""
    config, provider, runner = target.config, target.provider, target.runner
    found: list[str] = []
    problems: list[str] = []
    missing = set()
    for name, argv in _tool_probes(config, provider.name, target.tools, problems):
        if argv is None:  # could not be found or fetched: the problem is listed
            missing.add(name)
            continue
        version = _version(runner, name, argv, target.tools.probed.get(tuple(argv)))
        if version is None:
            missing.add(name)
            problems.append(f"{name} not found or not runnable ({argv[0]}): {_install_hint(name)}")
        else:
            found.append(f"{name} {version}")
    if "docker" not in missing:
        _check_engine(runner, start_engine, found, problems)
    file_problems = _file_problems(config)
    problems += file_problems
    # Rendering needs helm, the chart and every values file, each reported above when missing.
    if config.method == "helm" and "helm" not in missing and not file_problems:
        _check_values(config, runner, target.tools, problems)
    _check_secret_inputs(config, openai, problems)
    _check_memory(config, provider.name, mem_available_mb(), found, problems)
    problems.extend(provider.preflight())
    if problems:
        raise PreflightError(problems)
    return found


def _tool_probes(
    config: DeployConfig, provider: str, tools: Tools, problems: list[str]
) -> list[tuple[str, list[str] | None]]:
    """The version probe of each tool the deploy uses; None (and a problem) when unresolvable."""
    wanted: dict[str, tuple[str, ...]] = {"kubectl": ("version", "--client", "-o", "json")}
    if config.method == "helm":
        wanted["helm"] = ("version", "--short")
    for tool in _entry(provider).tools:
        wanted[tool] = SPECS[tool].version_argv
    probes: list[tuple[str, list[str] | None]] = [("docker", ["docker", "--version"])]
    for name, args in wanted.items():
        try:
            probes.append((name, [tools.path(name), *args]))
        except ToolError as exc:
            problems.append(str(exc))
            probes.append((name, None))
    return probes


def _install_hint(tool: str) -> str:
    # A tool a newly registered provider asks for may have no hint here yet.
    return INSTALL_HINTS.get(tool, f"install {tool}")


def _entry(provider: str) -> ProviderEntry:
    """The provider's registry entry; for one the registry does not know (a test's fake), a
    bare entry: no tool and no memory of its own."""
    return provider_entry(provider) or ProviderEntry(provider, help="", factory="")


def _version(runner: Runner, name: str, argv: list[str], probed: str | None) -> str | None:
    """The version `argv` prints; `probed` is its output when resolving the tool ran it."""
    if probed is None:
        result = runner.run(argv, step=f"{name} version", check=False, mutating=False)
        if not result.ok:
            return None
        probed = result.stdout
    if name == "kubectl":
        return json.loads(probed)["clientVersion"]["gitVersion"]
    return probed.strip().removeprefix("Docker version ").split(",")[0]


def _check_engine(
    runner: Runner, start_engine: Callable[[Runner], str], found: list[str], problems: list[str]
) -> None:
    probe = ["docker", "info", "--format", "{{.ServerVersion}}"]
    result = runner.run(probe, step="docker engine", check=False, mutating=False)
    if not result.ok and not runner.dry_run:
        try:
            found.append(start_engine(runner))
        except Exception as exc:  # any failure to start is reported with the other gaps
            problems.append(f"could not start a Docker engine: {exc}")
            return
        result = runner.run(probe, step="docker engine", check=False, mutating=False)
    if result.ok:
        found.append(f"docker engine {result.stdout.strip()}")
    elif runner.dry_run:
        found.append("docker engine not running (a real run starts it where it can)")
    else:
        problems.append(
            "Docker engine not reachable (`docker info` failed): start Docker "
            "(Linux: `sudo dockerd &` or `sudo service docker start`; else Docker Desktop)"
        )


def _file_problems(config: DeployConfig) -> list[str]:
    problems = []
    if config.method == "helm" and not Path(config.chart, "Chart.yaml").is_file():
        problems.append(f"chart not found at {config.chart}: set deploy.chart in invoke.yaml")
    if config.method == "kubectl":
        problems.extend(_manifest_problems(config))
    for values in config.values_files:
        if not Path(values).is_file():
            problems.append(
                f"values file {values} not found: check --values or deploy.values_files"
            )
    return problems


def _check_values(config: DeployConfig, runner: Runner, tools: Tools, problems: list[str]) -> None:
    """Render the chart with the values files: its schema refuses bad values before any change."""
    files = [arg for values in config.values_files for arg in ("-f", values)]
    argv = [
        tools.helm,
        "template",
        config.release,
        config.chart,
        "--namespace",
        config.namespace,
        *files,
    ]
    result = runner.run(argv, step="check values", check=False, mutating=False)
    if not result.ok:
        error = " ".join(result.stderr.strip().removeprefix("Error: ").split())
        problems.append(
            f"the chart rejects the values ({', '.join(config.values_files)}): "
            f"{runner.mask(error)[-400:]}; fix the value named, see {config.chart}/values.yaml"
        )


def _check_secret_inputs(config: DeployConfig, openai: bool, problems: list[str]) -> None:
    # The user's own values (environment, env file): a bad one is refused before any change.
    try:
        collect({}, env_file=config.env_file, require_openai=openai)
    except SecretError as exc:
        problems.append(str(exc))


def _manifest_problems(config: DeployConfig) -> list[str]:
    if not Path(config.manifests_dir).is_dir():
        return [
            f"manifests not found in {config.manifests_dir}/: render them with `invoke manifests`"
        ]
    rendered = rendered_namespaces(load_manifests(config.manifests_dir))
    if rendered - {config.namespace}:
        # Applying them would land in the rendered namespace, not the requested one.
        return [
            f"{config.manifests_dir}/ is rendered for namespace {', '.join(sorted(rendered))}, "
            f"not {config.namespace}: use --method helm for another namespace"
        ]
    return []


def _check_memory(
    config: DeployConfig,
    provider: str,
    available: int | None,
    found: list[str],
    problems: list[str],
) -> None:
    if available is None:
        return
    cluster_memory = _entry(provider).memory_mb
    needed = cluster_memory(config) if cluster_memory else STACK_MEMORY_MB
    if available < needed:
        problems.append(
            f"only {available} MiB of memory available, {needed} MiB needed: close programs "
            "or lower deploy.minikube.memory_mb (not below 2048)"
        )
    else:
        found.append(f"memory available {available} MiB (needs {needed})")
