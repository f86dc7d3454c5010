"""`python -m tests.support.kind COMMAND`: make this machine able to run kind offline (CI only).

prepare            everything below, in order, then the figures (root)
runtime            the OCI runtime wrapper as dockerd's default, /lib/modules, socket group
kind               build kind and install it into --bin-dir
node-image         local/kind-node:<Kubernetes version>
addon-images       traefik and kube-network-policies images
registry start|stop
network-policies   enforce NetworkPolicies in a kind cluster (--name, --context)
figures            what each piece cost when it was built cold
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.kind import addons, gobuild, network, nodeimage, paths, registry, runtime
from todo_deploy.base.engine import DockerCli, EngineError, ensure_engine
from todo_deploy.base.run import CommandError, Runner


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.kind", description="kind support for offline CI"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bin_help = f"where programs are installed for every user (default {paths.bin_dir()})"
    for name, help_text in (
        ("prepare", "runtime, kind, node image, add-on images, registry; then the figures"),
        ("kind", "build kind and install it"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--bin-dir", type=Path, default=paths.bin_dir(), help=bin_help)
    commands.add_parser("runtime", help="dockerd runtime wrapper, /lib/modules, socket group")
    commands.add_parser("node-image", help=f"build {nodeimage.NODE_IMAGE} when inputs changed")
    commands.add_parser("addon-images", help="traefik and kube-network-policies images")
    reg = commands.add_parser("registry", help=f"the local registry on {registry.url()}")
    reg.add_argument("action", choices=("start", "stop"))
    reg.add_argument("--delete-data", action="store_true", help="stop: also drop its images")
    policies = commands.add_parser("network-policies", help="run kube-network-policies")
    policies.add_argument("--name", required=True, help="the kind cluster's name")
    policies.add_argument("--context", required=True, help="its kubeconfig context")
    policies.add_argument("--kubeconfig", type=Path, help="kubeconfig file (default: kubectl's)")
    policies.add_argument("--kubectl", default="kubectl", help="kubectl program")
    commands.add_parser("figures", help="cold build seconds of each piece")
    return parser


def _timed(runner: Runner, what: str, action: Callable[[], object]) -> None:
    started = time.monotonic()
    result = action()
    runner.printer(f"kind support: {what}: {result} ({time.monotonic() - started:.1f} s)")


def _install_kind(runner: Runner, bin_dir: Path) -> Path:
    return gobuild.install(gobuild.ensure_program(runner, gobuild.KIND), bin_dir)


def _start_registry(docker: DockerCli) -> str:
    registry.start(docker)
    return registry.url()


def _prepare(runner: Runner, docker: DockerCli, bin_dir: Path) -> None:
    _timed(runner, "engine", lambda: ensure_engine(runner))
    _timed(runner, "runtime", lambda: runtime.ensure_runtime(runner) or "unchanged")
    _timed(runner, "network guard", lambda: network.guard(runner))
    _timed(runner, "kind", lambda: _install_kind(runner, bin_dir))
    _timed(runner, "node image", lambda: nodeimage.ensure_node_image(docker))
    _timed(runner, "add-on images", lambda: ", ".join(addons.ensure_addon_images(docker)))
    _timed(runner, "registry", lambda: _start_registry(docker))
    _figures(runner)


def _figures(runner: Runner) -> None:
    record = paths.cold_seconds()
    runner.printer("kind support: cold build seconds (each measured when it was last built)")
    for piece, seconds in sorted(record.items()):
        runner.printer(f"  {piece:<70} {seconds:>7.1f}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    runner = Runner()
    docker = DockerCli(runner)
    try:
        match args.command:
            case "prepare":
                _prepare(runner, docker, args.bin_dir)
            case "runtime":
                _timed(runner, "runtime", lambda: runtime.ensure_runtime(runner) or "unchanged")
                network.guard(runner)
            case "kind":
                _timed(runner, "kind", lambda: _install_kind(runner, args.bin_dir))
            case "node-image":
                _timed(runner, "node image", lambda: nodeimage.ensure_node_image(docker))
            case "addon-images":
                _timed(runner, "add-on images", lambda: addons.ensure_addon_images(docker))
            case "registry" if args.action == "start":
                _timed(runner, "registry", lambda: _start_registry(docker))
            case "registry":
                registry.stop(docker, delete_data=args.delete_data)
            case "network-policies":
                seconds = addons.install_network_policies(
                    runner,
                    cluster_name=args.name,
                    context=args.context,
                    kubectl=args.kubectl,
                    kubeconfig=args.kubeconfig,
                )
                runner.printer(f"kind support: NetworkPolicies enforced ({seconds:.1f} s)")
            case "figures":
                _figures(runner)
    except CommandError as error:
        print(error.block(), file=sys.stderr)
        return 1
    except (
        EngineError,
        gobuild.GoBuildError,
        runtime.RuntimeSetupError,
        nodeimage.NodeImageError,
        registry.RegistryError,
    ) as error:
        print(f"kind support: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
