"""helm lint --strict: no errors and no warnings for every values scenario."""

from __future__ import annotations

import pytest

from tests.support import chart_checks

pytestmark = pytest.mark.helm_lint
SCENARIOS = chart_checks.scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_helm_lint_strict_is_clean(tools, scenario):
    assert chart_checks.lint(SCENARIOS[scenario], tools=tools) == []


def test_lint_reports_a_broken_chart_value(tools, tmp_path):
    # The check itself must be able to fail: a schema violation is an [ERROR] line.
    bad = tmp_path / "bad.yaml"
    bad.write_text("replicas: {frontend: -1, backend: 2, mcp: 1}\n")
    problems = chart_checks.lint([bad], tools=tools)
    assert any("/replicas/frontend" in p for p in problems), problems


def test_every_ci_scenario_is_present():
    # ct-style: one ci/<scenario>-values.yaml per scenario the chart supports.
    names = {name.removeprefix("ci/") for name in SCENARIOS if name.startswith("ci/")}
    assert names == {f"{s}-values.yaml" for s in ("default", "dev", "external-db", "prod")}
