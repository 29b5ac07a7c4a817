"""Every page of navigation.py through axe-core, in one theme: `python3 -m tests.a11y.audit [light|dark] [APP_DIR]`.

Prints a per-page table of violations by impact (the before/after numbers of docs/accessibility.md) and
writes artifacts/a11y_<theme>.json. tests/e2e/test_accessibility.py runs the same `audit_pages`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from harness import ARTIFACTS, ROOT
from harness.browser import headless_chromium, open_page
from harness.server import serving
from tests.a11y import axe_support as axe

__all__ = ["TEACHER_CODE", "audit_pages", "theme_env"]

TEACHER_CODE = "a11y-teacher"


def theme_env(theme: str) -> dict:
    """The server's environment: a teacher code (the teacher's pages) and Streamlit's theme.base."""
    return {"CVAE_TEACHER_CODE": TEACHER_CODE, "STREAMLIT_THEME_BASE": theme}


def audit_pages(browser, url: str) -> dict[str, list[dict]]:
    """One teacher session (signed in on Classroom) visits every page of navigation.py by the sidebar."""
    page = open_page(browser, url, "")
    try:
        axe.settle(page)
        axe.sign_in_teacher(page, TEACHER_CODE)
        found = {}
        listed = axe.sidebar_titles(page)
        missing = set(axe.navigation_titles()) - set(listed)
        if missing:
            raise AssertionError(f"navigation.py names pages the teacher's sidebar does not list: {sorted(missing)}")
        for title in listed:
            axe.open_nav_page(page, title)
            found[title] = axe.run_axe(page)
        return found
    finally:
        page.context.close()


def main(theme: str, app_dir: Path = ROOT, tag: str = "") -> None:
    """`app_dir`: another checkout's app (the before numbers: `git archive HEAD` unpacked somewhere)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        serving(
            Path(tmp) / "runs", Path(tmp) / "streamlit.log", env=theme_env(theme), timeout=400, app_dir=app_dir
        ) as server,
        headless_chromium() as browser,
    ):
        found = audit_pages(browser, server.url)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"a11y_{theme}{tag}.json").write_text(json.dumps(found, indent=1))
    for title, violations in found.items():
        counts = {i: sum(len(v["nodes"]) for v in violations if v["impact"] == i) for i in axe.BLOCKING}
        rules = ", ".join(f"{v['id']}({v['impact']}, {len(v['nodes'])})" for v in violations) or "none"
        print(f"{theme:5} | {title:14} | critical {counts['critical']} | serious {counts['serious']} | {rules}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0] if args else "light", *([Path(args[1]), "_" + Path(args[1]).name] if len(args) > 1 else []))
