"""axe-core in a real page: the pinned npm copy injected from disk, the pages named in navigation.py, exclusions.

axe-core comes from tests/a11y/node_modules (`npm ci --prefix tests/a11y`), never from a CDN: the
page gets the file's text through `page.add_script_tag(content=...)`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from harness import ROOT
from harness.browser import LOAD_MS, wait_script_idle

__all__ = [
    "AXE_JS",
    "BLOCKING",
    "EXCLUDED",
    "WCAG_TAGS",
    "axe_available",
    "blocking",
    "navigation_titles",
    "open_nav_page",
    "run_axe",
    "sidebar_titles",
    "sign_in_teacher",
    "summary",
]

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
NAV_LINK = '[data-testid="stSidebarNavLink"]'
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")

# Streamlit's own markup that neither the theme nor the app's markup can fix, node selector -> why.
# Each entry is documented in docs/accessibility.md; keep this list and that section in step.
EXCLUDED: dict[str, str] = {}


def axe_available() -> bool:
    return AXE_JS.exists()


def navigation_titles(path: Path = ROOT / "navigation.py") -> list[str]:
    """The page titles navigation.py names, in file order: `st.Page(..., title="...")` calls and
    `("app_pages/x.py", "Title", ...)` spec tuples (new pages are checked as they come)."""
    titles = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            titles += [k.value.value for k in node.keywords if k.arg == "title" and isinstance(k.value, ast.Constant)]
        elif isinstance(node, ast.Tuple) and len(node.elts) >= 2:
            script, title = node.elts[:2]
            strings = all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in (script, title))
            if strings and script.value.startswith("app_pages/") and script.value.endswith(".py"):
                titles.append(title.value)
    return list(dict.fromkeys(titles))


def sidebar_titles(page) -> list[str]:
    """The pages this session's sidebar lists (a teacher's session: the teacher's pages too)."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    more = nav.locator("button", has_text="more")  # "View N more" when the list is long
    if more.count():
        more.first.click()
    # a link's text is its icon's ligature name, then the title
    return [t.strip().splitlines()[-1].strip() for t in nav.locator(NAV_LINK).all_inner_texts() if t.strip()]


def settle(page, wait_ms: int = 1500) -> None:
    """Script idle, no spinner or skeleton left, images loaded, a moment for charts to draw."""
    wait_script_idle(page, timeout_ms=LOAD_MS)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')
               && Array.from(document.images).every(i => i.complete)""",
        timeout=LOAD_MS,
    )
    page.wait_for_timeout(wait_ms)
    wait_script_idle(page, timeout_ms=LOAD_MS)


def open_nav_page(page, title: str) -> None:
    """Click `title` in the sidebar's navigation (same session) and wait for the page to settle."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    more = nav.locator("button", has_text="more")
    if more.count():
        more.first.click()
    titles = sidebar_titles(page)
    if title not in titles:
        raise AssertionError(f"the sidebar does not list {title!r}: {titles}")
    nav.locator(NAV_LINK).nth(titles.index(title)).click()
    page.locator("h1").first.wait_for(timeout=LOAD_MS)
    settle(page)


def sign_in_teacher(page, code: str) -> None:
    """The Classroom page's teacher form; afterwards the session shows the teacher's pages too."""
    open_nav_page(page, "Classroom")
    page.get_by_label("Teacher code").fill(code)
    page.get_by_role("button", name="Sign in as teacher").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=LOAD_MS)
    settle(page, 500)


def run_axe(page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the current page, minus EXCLUDED nodes:
    [{id, impact, help, nodes: [{target, summary}]}]."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=AXE_JS.read_text())
    context = {"exclude": [[s] for s in EXCLUDED]} if EXCLUDED else {"include": [["body"]]}
    result = page.evaluate(
        """async ([context, tags]) => {
             const r = await axe.run(context, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: (n.failureSummary || '').slice(0, 300),
                                         html: n.html.slice(0, 200)}))}));
           }""",
        [context, WCAG_TAGS],
    )
    return result


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def summary(violations: list[dict]) -> str:
    """One line per violation: impact, rule, node count, first nodes (for a failing assertion's message)."""
    return "\n".join(
        f"{v['impact']:9} {v['id']} x{len(v['nodes'])}: "
        + json.dumps([n["target"] + " :: " + n["html"] for n in v["nodes"][:3]])
        for v in violations
    )
