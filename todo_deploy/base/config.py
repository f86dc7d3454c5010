"""One typed deploy configuration built from Invoke's layered config plus task flags.

Precedence (lowest first): the collection defaults below, the project's invoke.yaml, `INVOKE_...`
environment variables (Invoke loads these itself, e.g. INVOKE_DEPLOY_PROVIDER=host) and flags.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from todo_deploy.base.clusters import choices_text, provider_choices

MethodName = Literal["helm", "kubectl"]


class ConfigError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    deploy: int = Field(900, gt=0, description="whole deploy, seconds")
    rollout: int = Field(300, gt=0, description="helm --timeout and each rollout wait, seconds")
    teardown: int = Field(300, gt=0, description="uninstall and namespace deletion, seconds")
    lock: int = Field(
        900,
        ge=0,
        description="wait for another run holding the release's lock, seconds (0: refuse)",
    )


class MinikubeSettings(_Strict):
    memory_mb: int = Field(4096, ge=2048)
    cpus: int = Field(2, ge=2)
    profile: str = "todo"
    cni: str = Field(
        "calico",
        min_length=1,
        description="minikube start --cni: calico, bridge, cilium, flannel, kindnet, auto, "
        "false, or the path of a CNI manifest",
    )
    ingress: Literal["addon", "traefik"] = Field(
        "addon", description="the ingress addon (ingress-nginx), or the suite's in-cluster Traefik"
    )
    force: bool = Field(
        False,
        description="pass --force to minikube start: needed to run the docker driver as root, "
        "which Minikube refuses (DRV_AS_ROOT)",
    )


class KindSettings(_Strict):
    cluster_name: str = Field("todo", pattern=r"^[a-z0-9][a-z0-9.-]*$", max_length=50)
    node_image: str | None = Field(None, description="kind's own default image when unset")
    config_file: str | None = Field(None, description="kind config merged into the provider's")
    listen_address: str = Field("127.0.0.1", description="loopback address of the ports below")
    http_port: int = Field(80, ge=1, le=65535, description="host port for the node's :80")
    https_port: int = Field(443, ge=1, le=65535, description="host port for the node's :443")
    registry_endpoint: str | None = Field(
        None, description="how the nodes reach a --registry on this machine's loopback"
    )

    @field_validator("listen_address")
    @classmethod
    def _loopback(cls, value: str) -> str:
        # The ingress is published on this machine only, never on its outside interfaces.
        try:
            loopback = ipaddress.ip_address(value).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError("must be a loopback address such as 127.0.0.1")
        return value


class Budgets(_Strict):
    deploy_seconds: int = Field(300, gt=0)


class DeployConfig(_Strict):
    namespace: str = "todo-app"
    release: str = "todo"
    provider: str = "auto"  # one of clusters.provider_choices()
    method: MethodName = "helm"
    chart: str = "helm/todo-app"
    manifests_dir: str = "k8s"
    values_files: list[str] = Field(default_factory=list)
    timeouts: Timeouts = Timeouts()
    image_tag_policy: Literal["content", "git"] = "content"
    registry: str | None = None
    minikube: MinikubeSettings = MinikubeSettings()
    kind: KindSettings = KindSettings()
    kube_context: str | None = None
    # Contexts that deploy and teardown may change although they do not look local (guard.py).
    allowed_contexts: list[str] = Field(default_factory=list)
    ingress_host: str = "todo.local"
    secret_name: str | None = None  # None: the chart's own name, <namePrefix>-secrets
    env_file: str = ".env"
    report_json: str = "build/deploy-report.json"
    budgets: Budgets = Budgets()

    @field_validator("provider")
    @classmethod
    def _registered(cls, value: str) -> str:
        # Checked against the registry when a config is built, not fixed as a Literal when the
        # class is: registering a provider in base/clusters.py is all it takes to accept it.
        if value not in provider_choices():
            expected = {"expected": choices_text(quote="'")}
            raise PydanticCustomError("literal_error", "Input should be {expected}", expected)
        return value


# Keys whose default is None: Invoke sees them as "" (below), the model as None.
OPTIONAL_KEYS = (
    "registry",
    "kube_context",
    "secret_name",
    "kind.node_image",
    "kind.config_file",
    "kind.registry_endpoint",
)

# Booleans registered as text: Invoke casts an INVOKE_* value for a bool key itself, and reads any
# word but "0" and "" as true, "false" too; as text it reaches pydantic, which knows false/no/off.
TEXT_BOOL_KEYS = ("minikube.force",)


def collection_defaults() -> dict[str, Any]:
    """The `deploy` section registered on the Invoke collection (every key, so env can override).

    Invoke only maps INVOKE_* variables onto keys that already exist, and casts them to the
    default's type, hence None-valued keys are given as "" here and normalised back below.
    """
    data = DeployConfig().model_dump()
    for key in OPTIONAL_KEYS:
        _set_dotted(data, key, "")
    for key in TEXT_BOOL_KEYS:
        _set_dotted(data, key, str(_get_dotted(data, key)).lower())
    return data


def build_config(
    layered: Mapping[str, Any], flags: Mapping[str, Any] | None = None
) -> DeployConfig:
    """Merge Invoke's `deploy` section with the flags that were given (None means not given)."""
    data = _plain(layered)
    for key, value in (flags or {}).items():
        if value is not None:
            _set_dotted(data, key, value)
    for key in OPTIONAL_KEYS:
        *parents, leaf = key.split(".")
        section = data
        for part in parents:
            section = section.get(part, {})
        if section.get(leaf) == "":
            section[leaf] = None
    try:
        return DeployConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def anchored(config: DeployConfig, root: Path) -> DeployConfig:
    """`config` with every relative path made absolute under `root`: the settings' paths are
    relative to the repository root, and no command or read may depend on the folder a task
    was started in. (A CNI is a manifest's path only when that file exists; else a name.)"""

    def under(path: str) -> str:
        return str(root / path)  # an absolute path stays as it is

    kind, minikube = config.kind, config.minikube
    cni = under(minikube.cni) if (root / minikube.cni).is_file() else minikube.cni
    return config.model_copy(
        update={
            "chart": under(config.chart),
            "manifests_dir": under(config.manifests_dir),
            "values_files": [under(v) for v in config.values_files],
            "env_file": under(config.env_file),
            "report_json": under(config.report_json),
            "minikube": minikube.model_copy(update={"cni": cni}),
            "kind": kind.model_copy(
                update={"config_file": under(kind.config_file) if kind.config_file else None}
            ),
        }
    )


def _plain(value: Any) -> Any:
    # Invoke's DataProxy objects behave like dicts (but are not Mappings); pydantic wants dicts.
    if isinstance(value, Mapping) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _get_dotted(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def _describe(exc: ValidationError) -> str:
    lines = ["invalid deploy configuration:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {where}: {err['msg']}; got {err.get('input')!r}")
    return "\n".join(lines)
