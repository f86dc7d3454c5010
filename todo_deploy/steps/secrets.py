"""Collect the app's secrets, apply them to the cluster through stdin, never to a file.

Sources, strongest first: the environment, a `.env` file, the Secret already in the cluster
(so generated values stay stable across deploys: the database was initialised with them), the
values a data-keeping teardown saved, and finally fresh random values. Every value is handed
to the Runner so it is masked everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets as random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from dotenv import dotenv_values

from todo_deploy.base import catalogue, paths
from todo_deploy.base.kube import Kube

# Each service's own database role's password too (the chart's `database` entries).
GENERATED = (
    "BETTER_AUTH_SECRET",
    "MCP_API_TOKEN",
    "POSTGRES_PASSWORD",
    *(login.password_key for login in catalogue.default().logins()),
)
OPTIONAL = ("OPENAI_API_KEY",)


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Prints one word when the applied Secret still has the annotation, never its content.
STALE_TEMPLATE = (
    '{{with .metadata.annotations}}{{with index . "' + LAST_APPLIED + '"}}stale{{end}}{{end}}'
)


class SecretError(ValueError):
    pass


@dataclass(frozen=True)
class AppSecrets:
    values: dict[str, str]
    sources: dict[str, str]  # key -> where it came from (never the value)
    external_database: bool

    def digest(self) -> str:
        """Changes whenever a value does: the app's pods restart to read the new Secret.

        The values include 32 random bytes each (generated keys), so the digest tells nothing
        about any one of them.
        """
        return hashlib.sha256(json.dumps(self.values, sort_keys=True).encode()).hexdigest()[:16]


def _how_to_set(name: str, env_file: str) -> str:
    return f"set it with `export {name}=...` or a line `{name}=...` in {env_file}"


def _validate_database_url(url: str, env_file: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres") or not parts.hostname:
        raise SecretError(
            "DATABASE_URL is malformed: expected postgresql://USER:PASSWORD@HOST:5432/DB "
            f"(the value is not shown); {_how_to_set('DATABASE_URL', env_file)}"
        )


def kept_path(kube_context: str | None, namespace: str) -> Path:
    """Where a teardown that keeps the database keeps the values the data was made with.

    Outside the repository (the user's state directory, mode 0600), like a kubeconfig.
    """
    return paths.state_dir("kept-secrets", f"{kube_context or 'default'}--{namespace}.json")


def save_kept(path: Path, values: Mapping[str, str]) -> None:
    # The database was initialised with POSTGRES_PASSWORD; better-auth's keys in it are
    # encrypted with BETTER_AUTH_SECRET: a redeploy onto the kept volume needs both.
    kept = {k: values[k] for k in GENERATED if values.get(k)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(kept))


def read_kept(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()) if path.is_file() else {}


def read_cluster_secret(kube: Kube, name: str) -> dict[str, str]:
    """The Secret's current values; {} only when it does not exist (or in a dry run)."""
    return values_of(read_secret(kube, name))


def read_secret(kube: Kube, name: str) -> dict[str, Any]:
    """The Secret as the cluster has it; {} only when it does not exist (or in a dry run)."""
    result = kube.run(
        "get",
        "secret",
        name,
        "-o",
        "json",
        step="read existing secret",
        check=False,
        mutating=False,
    )
    if result.ok:
        secret = json.loads(result.stdout)
        kube.runner.add_secrets(values_of(secret).values())
        return secret
    if "NotFound" in result.stderr or kube.runner.dry_run:
        return {}
    # Generating fresh values now would lock the app out of the database kept in its volume.
    raise SecretError(
        f"could not read the existing Secret {kube.namespace}/{name}, so its values cannot be "
        f"reused: {kube.runner.mask(result.stderr.strip())[-300:]}"
    )


def values_of(secret: Mapping[str, Any]) -> dict[str, str]:
    data = secret.get("data") or {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def is_current(secret: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    """The cluster's Secret is exactly what `apply` would make: applying it changes nothing."""
    metadata = secret.get("metadata") or {}
    labels = metadata.get("labels") or {}
    return (
        values_of(secret) == dict(values)
        and labels.get("app.kubernetes.io/managed-by") == "todo-deploy"
        and LAST_APPLIED not in (metadata.get("annotations") or {})
    )


def collect(
    existing: Mapping[str, str],
    *,
    env: Mapping[str, str] | None = None,
    env_file: str = ".env",
    kept: Mapping[str, str] | None = None,
    require_openai: bool = False,
    in_cluster_url: Callable[[str], str] | None = None,
) -> AppSecrets:
    """Strongest first: environment, env file, the cluster's Secret, values kept at teardown.

    Without an external DATABASE_URL, `in_cluster_url(password)` is the in-cluster database's
    (default: this repository's chart, `catalogue.default().database_url`).
    """
    env = os.environ if env is None else env
    layers = (
        ("environment", env),
        (env_file, _read_env_file(env_file)),
        ("cluster", existing),
        ("kept at teardown", kept or {}),
    )
    values: dict[str, str] = {}
    sources: dict[str, str] = {}

    def pick(key: str) -> str | None:
        for source, data in layers:
            if data.get(key):
                sources[key] = source
                return data[key]
        return None

    for key in GENERATED:
        values[key] = pick(key) or random.token_urlsafe(32)
        sources.setdefault(key, "generated")
    for key in OPTIONAL:
        if value := pick(key):
            values[key] = value
    if require_openai and "OPENAI_API_KEY" not in values:
        raise SecretError(
            f"OPENAI_API_KEY is required with --openai; {_how_to_set('OPENAI_API_KEY', env_file)}"
        )
    external = pick("DATABASE_URL")
    # Only a URL the user gives is external: one from the cluster is rebuilt from the password.
    if external and sources["DATABASE_URL"] in ("environment", env_file):
        _validate_database_url(external, env_file)
        values["DATABASE_URL"] = external
    else:
        external = None
        sources["DATABASE_URL"] = "the in-cluster PostgreSQL"
        url = in_cluster_url or catalogue.default().database_url
        values["DATABASE_URL"] = url(values["POSTGRES_PASSWORD"])
    _add_service_urls(values, sources)
    return AppSecrets(values, sources, external_database=external is not None)


def _add_service_urls(values: dict[str, str], sources: dict[str, str]) -> None:
    """Each service's URL: the owner's DATABASE_URL with the service's role and password."""
    for login in catalogue.default().logins():
        values[login.url_key] = with_login(
            values["DATABASE_URL"], login.role, values[login.password_key]
        )
        sources[login.url_key] = f"DATABASE_URL as {login.role}"


def with_login(url: str, user: str, password: str) -> str:
    """`url` connecting as `user` with `password` (host, database and query kept)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _read_env_file(path: str) -> dict[str, str]:
    if not Path(path).is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v}


def manifest(name: str, namespace: str, values: Mapping[str, str]) -> dict:
    # `data`, not `stringData`: server-side apply tracks `data` keys, so a key the suite stops
    # sending is removed from the Secret.
    data = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "todo-deploy"},
        },
        "type": "Opaque",
        "data": data,
    }


def namespace_manifest(namespace: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}


def apply(
    kube: Kube, name: str, app_secrets: AppSecrets, *, namespace_exists: bool = False
) -> None:
    """Apply server-side: no last-applied annotation copies the values in plain text."""
    kube.runner.add_secrets(app_secrets.values.values())
    if not namespace_exists:
        kube.apply(namespace_manifest(kube.namespace), step="namespace")
    applied = kube.apply_server_side(
        manifest(name, kube.namespace, app_secrets.values),
        step="apply secret",
        output=("-o", f"go-template={STALE_TEMPLATE}"),
    )
    # A Secret once applied client-side (older suites, a hand-run `kubectl apply`) carries the
    # annotation. kubectl 1.35 drops it itself when it moves the object to server-side apply
    # (checked against a v1.34 API server); an older kubectl leaves it: then it is removed here.
    if applied.stdout.strip() == "stale":
        kube.run("annotate", "secret", name, f"{LAST_APPLIED}-", step="drop last-applied values")
