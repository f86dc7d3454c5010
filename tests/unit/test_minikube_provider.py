"""The minikube provider against what Minikube v1.38.1 prints and refuses: `docker-env` output,
the docker driver as root (DRV_AS_ROOT), the CNI and the ingress it is configured with.

The Runner is faked (tests/support/fakes.py); the outputs are the real ones, as
cmd/minikube/cmd/docker-env.go writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from invoke import Config

from tests.support.fakes import Harness
from todo_deploy.base.config import ConfigError, build_config, collection_defaults
from todo_deploy.base.platforms import Platform
from todo_deploy.day2.isolation import IsolationCheck, Verdict, failure_message
from todo_deploy.providers import traefik
from todo_deploy.providers.minikube import MinikubeProvider, parse_docker_env

DOCKER_ENV = "minikube docker-env --shell none -o json -p todo"
# `minikube -p todo docker-env --shell none -o json`: Go's json.Marshal of the map, keys sorted;
# the SSH agent's variables are there, empty, when no agent was asked for.
REAL_JSON = (
    '{"DOCKER_CERT_PATH":"/home/u/.minikube/certs","DOCKER_HOST":"tcp://192.168.49.2:2376",'
    '"DOCKER_TLS_VERIFY":"1","MINIKUBE_ACTIVE_DOCKERD":"todo","SSH_AGENT_PID":"",'
    '"SSH_AUTH_SOCK":""}\n'
)
# `minikube -p todo docker-env -o json` (no --shell): the detected shell's script, not JSON.
REAL_SHELL_LINES = """export DOCKER_TLS_VERIFY="1"
export DOCKER_HOST="tcp://192.168.49.2:2376"
export DOCKER_CERT_PATH="/home/u/.minikube/certs"
export MINIKUBE_ACTIVE_DOCKERD="todo"

# To point your shell to minikube's docker-daemon, run:
# eval $(minikube -p todo docker-env)
"""
# `--shell none` without `-o json`: KEY=VALUE lines.
REAL_NONE_LINES = """DOCKER_TLS_VERIFY=1
DOCKER_HOST=tcp://192.168.49.2:2376
DOCKER_CERT_PATH=/home/u/.minikube/certs
MINIKUBE_ACTIVE_DOCKERD=todo
"""
ENGINE = {
    "DOCKER_TLS_VERIFY": "1",
    "DOCKER_HOST": "tcp://192.168.49.2:2376",
    "DOCKER_CERT_PATH": "/home/u/.minikube/certs",
    "MINIKUBE_ACTIVE_DOCKERD": "todo",
}
RUNNING = {"Host": "Running", "Kubelet": "Running", "APIServer": "Running"}
LINUX = Platform("linux", "amd64")


def _provider(h: Harness, euid: int | None = 1000, **settings: object) -> MinikubeProvider:
    config = h.config(**{f"minikube.{k}": v for k, v in settings.items()})
    return MinikubeProvider(config, h.runner, platform=LINUX, euid=lambda: euid)


# -- docker-env -------------------------------------------------------------------------------


def test_docker_env_asks_for_json_with_shell_none_and_reads_it(harness: Harness) -> None:
    harness.fake.on("minikube", "docker-env", "--shell", "none", "-o", "json", stdout=REAL_JSON)
    env = _provider(harness).docker_env()
    assert harness.fake.lines == [DOCKER_ENV]
    assert env == {**ENGINE, "SSH_AGENT_PID": "", "SSH_AUTH_SOCK": ""}  # nothing stripped


def test_docker_env_printed_as_shell_lines_is_read_too(harness: Harness) -> None:
    # What Minikube prints without --shell none; json.loads of it was a crash.
    harness.fake.on("minikube", "docker-env", stdout=REAL_SHELL_LINES)
    assert _provider(harness).docker_env() == ENGINE


def test_key_value_lines_are_read_as_they_are() -> None:
    assert parse_docker_env(REAL_NONE_LINES, DOCKER_ENV) == ENGINE
    quoted = "export DOCKER_HOST='tcp://10.0.0.2:2376'\nDOCKER_CERT_PATH=\"/c d/certs\"\n"
    assert parse_docker_env(quoted, DOCKER_ENV) == {
        "DOCKER_HOST": "tcp://10.0.0.2:2376",
        "DOCKER_CERT_PATH": "/c d/certs",  # a quoted value keeps its spaces
    }


@pytest.mark.parametrize(
    "output",
    [
        '["DOCKER_TLS_VERIFY","DOCKER_HOST","DOCKER_CERT_PATH","MINIKUBE_ACTIVE_DOCKERD"]\n',
        'set -gx DOCKER_HOST "tcp://192.168.49.2:2376";\n',  # fish, not read
        "",
    ],
    ids=["the --unset JSON list", "another shell's syntax", "nothing"],
)
def test_docker_env_that_cannot_be_read_names_the_command_and_its_output(
    harness: Harness, output: str
) -> None:
    harness.fake.on("minikube", "docker-env", stdout=output)
    with pytest.raises(RuntimeError) as failed:
        _provider(harness).docker_env()
    message = str(failed.value)
    assert f"`{DOCKER_ENV}` printed neither a JSON object nor KEY=VALUE lines" in message
    assert message.endswith(output.strip() or "(nothing)")


def test_dry_run_before_the_cluster_exists_builds_on_no_engine(harness: Harness) -> None:
    harness.runner.dry_run = True
    harness.fake.on("minikube", "docker-env", rc=85, stderr='Profile "todo" not found')
    assert _provider(harness).docker_env() == {}


# -- root -------------------------------------------------------------------------------------


def test_root_without_force_is_one_preflight_problem_naming_both_fixes(harness: Harness) -> None:
    problems = _provider(harness, euid=0).preflight()
    assert len(problems) == 1
    (problem,) = problems
    assert "Minikube refuses its docker driver as root (DRV_AS_ROOT)" in problem
    assert "a normal user in the `docker` group" in problem
    assert "deploy.minikube.force: true (INVOKE_DEPLOY_MINIKUBE_FORCE=true)" in problem


@pytest.mark.parametrize("euid", [1000, None], ids=["a normal user", "Windows"])
def test_no_root_no_problem(harness: Harness, euid: int | None) -> None:
    assert _provider(harness, euid=euid).preflight() == []


def test_root_with_force_starts_minikube_with_force(harness: Harness) -> None:
    provider = _provider(harness, euid=0, force=True)
    assert provider.preflight() == []
    provider.up()
    assert "minikube start --driver=docker --cni=calico --memory=4096 --cpus=2 --force -p todo" in (
        harness.fake.lines
    )


def test_force_is_never_added_unasked(harness: Harness) -> None:
    _provider(harness, euid=0).up()  # as root too: preflight refuses, up() adds nothing
    (start,) = [line for line in harness.fake.lines if line.startswith("minikube start")]
    assert "--force" not in start


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("1", True)])
def test_force_from_the_environment_means_what_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    # Invoke itself would read INVOKE_..._FORCE=false as true (any word but "0" and "").
    monkeypatch.setenv("INVOKE_DEPLOY_MINIKUBE_FORCE", value)
    config = Config(project_location=tmp_path)
    config.load_collection({"deploy": collection_defaults()})
    config.load_shell_env()
    assert build_config(config.deploy).minikube.force is expected


# -- CNI --------------------------------------------------------------------------------------


def test_the_configured_cni_is_passed_to_minikube_start(harness: Harness) -> None:
    _provider(harness, cni="bridge").up()
    assert "minikube start --driver=docker --cni=bridge --memory=4096 --cpus=2 -p todo" in (
        harness.fake.lines
    )


def test_a_cni_that_ignores_network_policy_is_a_report_warning(harness: Harness) -> None:
    facts = _provider(harness, cni="bridge").up()
    (note,) = facts.notes
    assert note.startswith("warning: Minikube's CNI bridge (deploy.minikube.cni) does not enforce")
    assert "only if something else enforces them; `invoke isolation` proves whether" in note
    assert _provider(harness, cni="bridge").planned().notes == facts.notes


@pytest.mark.parametrize("cni", ["calico", "cilium"])
def test_an_enforcing_cni_has_no_warning(harness: Harness, cni: str) -> None:
    assert _provider(harness, cni=cni).planned().notes == ()


def test_kindnet_or_a_manifest_may_not_enforce(harness: Harness, tmp_path: Path) -> None:
    manifest = tmp_path / "antrea.yaml"
    manifest.write_text("kind: List\n")
    for cni in ("kindnet", str(manifest)):
        provider = _provider(harness, cni=cni)
        assert provider.preflight() == []
        (note,) = provider.planned().notes
        assert f"CNI {cni} (deploy.minikube.cni) may not enforce NetworkPolicy" in note


def test_a_cni_that_is_neither_minikubes_nor_a_file_is_refused(harness: Harness) -> None:
    (problem,) = _provider(harness, cni="calcio").preflight()
    assert problem.startswith("deploy.minikube.cni 'calcio' is neither one of Minikube's CNIs")


def _leak_check(h: Harness, cni: str) -> str:
    h.fake.on("get", "networkpolicies", stdout={"items": [{"spec": {"podSelector": {}}}]})
    provider = _provider(h, cni=cni)
    check = IsolationCheck(h.target(provider.config, provider))
    return check.explain([Verdict("outside the app", "mcp", "open", "blocked")])


def test_isolation_names_the_configured_cni_as_the_reason(harness: Harness) -> None:
    message = _leak_check(harness, "bridge")
    assert "Fix: minikube: its CNI bridge (deploy.minikube.cni) does not enforce" in message
    assert "deploy.minikube.cni to calico or cilium, then `minikube delete -p todo`" in message
    assert "kind: v0.24" not in message  # the other clusters' fixes are not this one's


def test_isolation_with_an_enforcing_cni_suspects_an_older_cluster(harness: Harness) -> None:
    message = _leak_check(harness, "calico")
    assert "deploy.minikube.cni is calico, which enforces NetworkPolicy" in message
    assert "created with another CNI: `minikube delete -p todo`, then `invoke deploy`" in message


def test_isolation_elsewhere_keeps_every_clusters_fix() -> None:
    leak = [Verdict("outside the app", "mcp", "open", "blocked")]
    assert "kind: v0.24 or newer" in failure_message(leak, {"mcp"})


# -- ingress ----------------------------------------------------------------------------------


def test_the_addon_is_enabled_and_its_webhook_awaited_by_default(harness: Harness) -> None:
    harness.fake.on("minikube", "status", stdout=RUNNING)
    facts = _provider(harness).up()
    assert facts.ingress_class == "nginx"
    assert harness.fake.lines[1:] == [
        "minikube addons enable ingress -p todo",
        "kubectl --context todo -n ingress-nginx rollout status "
        "deployment/ingress-nginx-controller --timeout=300s",
        "kubectl --context todo -n ingress-nginx get endpoints "
        "ingress-nginx-controller-admission -o json",
    ]


def test_traefik_labels_the_node_and_installs_traefik_instead_of_the_addon(
    harness: Harness,
) -> None:
    harness.fake.on("minikube", "status", stdout=RUNNING)
    provider = _provider(harness, ingress="traefik")
    facts = provider.up()
    assert facts.ingress_class == "traefik" == provider.planned().ingress_class
    assert harness.fake.lines[1:] == [
        "kubectl --context todo -n ingress-nginx get deployment/ingress-nginx-controller -o json",
        "kubectl --context todo get node todo -o json",
        "kubectl --context todo label node todo ingress-ready=true --overwrite",
        "kubectl --context todo apply -f -",
        "kubectl --context todo -n traefik rollout status deployment/traefik --timeout=300s",
    ]
    applied = json.loads(harness.fake.calls[4].stdin or "{}")
    assert applied["items"] == traefik.objects()  # the kind provider's Traefik


def test_traefik_leaves_a_labelled_node_alone(harness: Harness) -> None:
    node = {"metadata": {"name": "todo", "labels": {"ingress-ready": "true"}}}
    harness.fake.on("get", "node", "todo", stdout=node)
    _provider(harness, ingress="traefik").up()
    assert not [line for line in harness.fake.lines if " label " in line]


def test_traefik_refuses_a_cluster_whose_addon_holds_the_ports(harness: Harness) -> None:
    controller = {"kind": "Deployment", "metadata": {"name": "ingress-nginx-controller"}}
    harness.fake.on("get", "deployment/ingress-nginx-controller", stdout=controller)
    with pytest.raises(RuntimeError) as refused:
        _provider(harness, ingress="traefik").up()
    assert "run `minikube addons disable ingress -p todo`" in str(refused.value)
    assert not [line for line in harness.fake.lines if "apply" in line]


def test_an_unknown_ingress_is_one_clear_config_error() -> None:
    with pytest.raises(ConfigError) as refused:
        build_config(collection_defaults(), {"minikube.ingress": "nginx"})
    assert str(refused.value) == (
        "invalid deploy configuration:\n"
        "  minikube.ingress: Input should be 'addon' or 'traefik'; got 'nginx'"
    )
