"""Accessibility check in the browser with axe-core, pinned in frontend/package.json."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def axe_source() -> str:
    if not AXE.exists():
        raise RuntimeError(
            f"{AXE} is missing: run `npm ci --prefix frontend` (axe-core is a devDependency)"
        )
    return AXE.read_text()


def blocking_violations(page: Page) -> list[str]:
    """Every serious or critical WCAG violation on the page as it is now, one line each."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source())
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))"""
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['targets'])}"
        for v in violations
        if v["impact"] in BLOCKING
    ]


def assert_accessible(page: Page, where: str) -> None:
    problems = blocking_violations(page)
    assert not problems, f"axe-core on {where}:\n" + "\n".join(problems)
