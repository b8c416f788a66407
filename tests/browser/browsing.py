"""Helpers for browser tests: artefact screenshots and axe-core checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


async def screenshot(page: Any, name: str) -> Path:
    """Keep a full-page PNG as a test artefact (test-artifacts/screenshots/NAME.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def assert_accessible(page: Any) -> None:
    """axe-core (WCAG 2.1 A/AA rules) in the page: no serious or critical violation."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options={
        "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                              "best-practice"]},
        "resultTypes": ["violations"]})
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    report = "\n".join(f"{v['id']} ({v['impact']}): {v['help']} at "
                       f"{[n['target'] for n in v['nodes']][:5]}" for v in bad)
    assert not bad, f"accessibility violations on {page.url}:\n{report}"


async def comment_on(page: Any, name: str, email: str, text: str) -> None:
    """Fill in the poll page's comment form, in Dutch, and send it."""
    await page.get_by_label("Naam").fill(name)
    await page.get_by_label("E-mailadres").fill(email)
    await page.get_by_label("Reactie", exact=True).fill(text)
    await page.get_by_role("button", name="Reactie plaatsen").click()
