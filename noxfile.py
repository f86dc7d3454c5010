"""Nox sessions: thin wrappers over pytest and the suite's helpers.

Plain `nox` runs every session, e2e included. Each session installs the locked dependencies
(uv.lock) into its own virtualenv, so a run is reproducible on a fresh machine.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = PYPROJECT["project"]["requires-python"].split(",")[0].removeprefix(">=")


def dockerfiles() -> list[str]:
    """Every component's Dockerfile, from the chart's component manifest (components.yaml)."""
    from todo_deploy.base import catalogue

    return [c.build.dockerfile for c in catalogue.default().components.values()]


def install_locked(session: nox.Session) -> None:
    """Install the whole workspace exactly as locked (suite, back end, MCP, dev tools)."""
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--all-packages",
        "--inexact",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


def pytest(session: nox.Session, *args: str) -> None:
    """One pytest run: the session's posargs, when given, replace its default arguments."""
    session.run("pytest", *(session.posargs or args))


@nox.session(python=PYTHON)
def quickstart(session: nox.Session) -> None:
    """README's first line as a newcomer runs it: fresh clone and HOME, no uv, deploy, teardown."""
    install_locked(session)
    # Nothing is prepared: the product's own deploy path brings what it needs.
    pytest(session, "tests/quickstart", "-s", "-x")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check and format), mypy on the suite, its tests and this file, hadolint, yamllint."""
    install_locked(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "todo_deploy", "tests", "noxfile.py")
    session.run("hadolint", *[f for f in dockerfiles() if os.path.exists(f)])
    session.run(
        "yamllint",
        "-c",
        ".yamllint.yaml",
        "helm/todo-app/components.yaml",
        "helm/todo-app/values.yaml",
        "helm/todo-app/values-dev.yaml",
        "helm/todo-app/values-prod.yaml",
        "k8s",
    )


@nox.session(python=PYTHON)
def unit(session: nox.Session) -> None:
    """Suite, back-end and MCP tests (a real PostgreSQL is started for the back end)."""
    install_locked(session)
    session.run("python", "-m", "tests.support.testenv", "postgres")
    pytest(session, "tests/unit", "backend/tests", "mcp/tests")


@nox.session(python=PYTHON)
def helm_lint(session: nox.Session) -> None:
    """helm lint --strict for every values file and ci/ scenario."""
    install_locked(session)
    pytest(session, "tests/chart", "-m", "helm_lint")


@nox.session(python=PYTHON)
def manifests(session: nox.Session) -> None:
    """k8s/ in sync with the chart, schema validation, policy scan, resource fit."""
    install_locked(session)
    # The server-side checks need a running cluster: the e2e session runs them.
    pytest(session, "tests/chart", "-m", "not helm_lint")


@nox.session(python=PYTHON)
def images(session: nox.Session) -> None:
    """Build every image, smoke-test them together, print sizes and cold starts vs budgets."""
    install_locked(session)
    pytest(session, "tests/images", "-s")


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """Deploy to a real cluster, use the app through the ingress and a browser, time it all."""
    install_locked(session)
    session.run("python", "-m", "tests.support.testenv", "chromium")
    # In order, stopping at the first failure: invoke dev in a browser (no cluster), the host
    # cluster's own acceptance tests, then the chart and the whole deploy flow on a cluster.
    pytest(session, "tests/dev", "tests/host", "tests/e2e", "-s", "-x", "--durations=15")


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """The suite against Skaffold v2.16.1 on the same cluster; build/bench.md (not in `nox`)."""
    install_locked(session)
    session.run("python", "-m", "tests.support.bench", *session.posargs)


@nox.session(python=PYTHON)
def kind_infra(session: nox.Session) -> None:
    """kind offline (CI only): kind, node image, add-ons, registry; a cluster as a normal user."""
    install_locked(session)
    session.run("python", "-m", "tests.support.kind", "prepare")  # prints each piece's cold cost
    pytest(session, "tests/kind_infra", "-s", "-x")


@nox.session(python=PYTHON)
def kind(session: nox.Session) -> None:
    """A normal user's path on kind: non-root, fresh clone, no npm; deploy to delete, timed."""
    install_locked(session)
    pytest(session, "tests/kind", "-s", "-x", "--durations=10")
