"""Every page, in a real Chromium against `streamlit run app.py`: axe-core's WCAG 2.1 A/AA rules in the light and
the dark theme (0 critical, 0 serious), the keyboard alone (every control reached by Tab, a point pinned on the
map, the live region's words), 200% zoom at 1024 x 768, and prefers-reduced-motion.

axe-core is the npm copy pinned in tests/a11y/package-lock.json (`npm ci --prefix tests/a11y`), injected from disk.
"""

from __future__ import annotations

import re

import pytest

from harness.browser import LOAD_MS, VIEWPORT, chromium_path, open_page, wait_script_idle
from harness.latent_map import open_latent_map
from tests.a11y import audit
from tests.a11y import axe_support as axe

pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]

# Everything Tab can land on; radio buttons count once per group (Tab enters a group, arrows move in it)
FOCUSABLE = """() => {
  const sel = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';
  const seen = new Set(), out = [];
  let k = 0;
  for (const e of document.querySelectorAll(sel)) {
    if (e.disabled || e.closest('[aria-hidden="true"], [inert]') || !e.getClientRects().length) continue;
    if (getComputedStyle(e).visibility === 'hidden' || e.tabIndex < 0) continue;
    const group = e.type === 'radio' ? 'radio:' + e.name : null;
    if (group && seen.has(group)) { e.dataset.a11y = group; continue; }
    const id = group || String(k++);
    e.dataset.a11y = id;
    if (group) seen.add(group);
    out.push({id, what: (e.getAttribute('aria-label') || e.innerText || e.name || e.tagName).trim().slice(0, 60)});
  }
  return out;
}"""
ACTIVE = "() => { const a = document.activeElement; return a && a.dataset ? a.dataset.a11y || null : null; }"
# every change of the map's live region, with its time (performance.now())
LIVE_LOG = """() => { if (window.__live) return; const live = document.querySelector('.lm-live[role=status]');
  window.__live = []; new MutationObserver(() => window.__live.push([performance.now(), live.textContent]))
    .observe(live, {childList: true, characterData: true, subtree: true}); }"""


@pytest.fixture(scope="module")
def servers(serve):
    """theme -> a started server (one per theme, started on first use) with a teacher code set."""
    started = {}

    def get(theme: str):
        if theme not in started:
            started[theme] = serve(f"a11y_{theme}", env=audit.theme_env(theme), timeout=400)
        return started[theme]

    return get


@pytest.fixture
def teacher_tab(servers, browser):
    """A signed-in teacher's tab on the light-theme server (its sidebar lists every page)."""
    page = open_page(browser, servers("light").url, "")
    axe.settle(page)
    axe.sign_in_teacher(page, audit.TEACHER_CODE)
    yield page
    page.context.close()


@pytest.mark.skipif(not axe.axe_available(), reason="axe-core not installed: npm ci --prefix tests/a11y")
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_nothing_critical_or_serious_on_any_page(servers, browser, theme):
    found = audit.audit_pages(browser, servers(theme).url)
    assert set(axe.navigation_titles()) <= set(found)  # every page navigation.py names, the teacher's too
    bad = {title: axe.blocking(v) for title, v in found.items() if axe.blocking(v)}
    assert not bad, "\n".join(f"{theme} / {t}:\n{axe.summary(v)}" for t, v in bad.items())


def _tab_through(page, limit: int) -> tuple[list[dict], list[str]]:
    """Tab from the top of the page until focus comes round again; (the page's controls, the ids reached)."""
    controls = page.evaluate(FOCUSABLE)
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    reached = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(ACTIVE))
    return controls, reached


@pytest.mark.parametrize("title", ["Train", "Latent space", "Lessons"])
def test_tab_reaches_every_control(teacher_tab, title):
    if title not in axe.navigation_titles():
        pytest.skip(f"no {title} page in navigation.py")
    page = teacher_tab
    axe.open_nav_page(page, title)
    if title == "Latent space":
        open_latent_map(page)
    controls, reached = _tab_through(page, limit=len(page.evaluate(FOCUSABLE)) * 2 + 10)
    assert len(controls) > 5, controls  # the page has its controls
    missed = [c for c in controls if c["id"] not in set(reached)]
    assert not missed, f"{title}: Tab never reaches {missed}"
    # and focus is visible wherever it lands: an outline or a box-shadow on the element or its wrapper
    shown = page.evaluate(
        """() => Array.from(document.querySelectorAll('.lm-root button, .lm-root canvas[tabindex]')).map(e => {
             e.focus({focusVisible: true}); const s = getComputedStyle(e);
             return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 || s.boxShadow !== 'none'; })"""
    )
    assert all(shown), shown


def test_keyboard_pins_a_point_and_the_live_region_says_where(teacher_tab):
    page = teacher_tab
    axe.open_nav_page(page, "Latent space")
    open_latent_map(page)
    top = page.locator(".lm-top")
    assert top.get_attribute("aria-label") and top.get_attribute("aria-describedby")
    help_text = page.locator(f"#{top.get_attribute('aria-describedby')}").text_content()
    assert "Arrow keys" in help_text and "Enter" in help_text
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    presses = 0
    while page.evaluate("() => document.activeElement && document.activeElement.classList.contains('lm-top')") is False:
        page.keyboard.press("Tab")
        presses += 1
        assert presses < 100, "Tab never reaches the map"
    page.evaluate(LIVE_LOG)
    t0 = page.evaluate("() => performance.now()")
    for _ in range(12):
        page.keyboard.press("ArrowRight")
    t1 = page.evaluate("() => performance.now()")
    page.wait_for_timeout(1200)  # the throttle's last, trailing announcement
    log = page.evaluate("() => window.__live")
    caption = page.locator(".lm-caption").inner_text().strip()
    assert log and log[-1][1].startswith("exploring") and log[-1][1].endswith(caption), (log, caption)
    # calm: at most one announcement per 500 ms while the keys move the point (12 per-frame updates otherwise)
    during = [t for t, _ in log if t <= t1 + 600]
    assert len(during) <= 2 + (t1 - t0) / 500, (len(during), t1 - t0)
    gaps = [b - a for a, b in zip([t for t, _ in log], [t for t, _ in log][1:], strict=False)]
    assert all(g >= 490 for g in gaps), gaps
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('.lm-live[role=status]').textContent.startsWith('pinned')")
    wait_script_idle(page)
    live = page.locator(".lm-live[role=status]").text_content()
    caption = page.locator(".lm-caption").inner_text().strip()
    assert re.fullmatch(r"pinned: this point\. decoded at z = \(-?\d+\.\d\d, -?\d+\.\d\d\)(\. .+)?", live), live
    assert live.startswith(f"pinned: this point. {caption}")
    # the pin reached Python: its view came back with the same point and the digit classifier's reading,
    # which the live region then adds
    page.wait_for_function(
        """(c) => { const m = window.__lm.map(); const z = m.view && m.view.pinned.z;
                   return z && c === 'decoded at z = (' + z.map(v => v.toFixed(2)).join(', ') + ')'; }""",
        arg=caption,
    )
    page.wait_for_function("() => document.querySelector('.lm-live[role=status]').textContent.includes('classifier')")
    live = page.locator(".lm-live[role=status]").text_content()
    reading = r"the digit classifier (reads a \d \(\d+% sure\)|is not sure which digit this is)"
    assert re.fullmatch(rf"pinned: this point\. {re.escape(caption)}\. {reading}", live), live


def test_200_percent_zoom_at_1024_by_768_scrolls_no_page_sideways(teacher_tab):
    """200% browser zoom of a 1024 x 768 window is a 512 x 384 CSS-pixel viewport."""
    page = teacher_tab
    overflow = {}
    for title in axe.sidebar_titles(page):
        page.set_viewport_size({"width": 1024, "height": 768})
        axe.open_nav_page(page, title)
        page.set_viewport_size({"width": 512, "height": 384})
        page.wait_for_timeout(800)
        found = page.evaluate(
            """() => { const main = document.querySelector('[data-testid="stMain"]'), w = window.innerWidth;
               // a screen reader's copy (a slider's range input in a 1 px clipped box) is not seen, so not cut
               const hiddenForSight = (e) => {
                 for (let a = e.parentElement, i = 0; a && i < 3; a = a.parentElement, i++)
                   if (a.getBoundingClientRect().width <= 1) return true;
                 return false; };
               const cut = Array.from(main.querySelectorAll('button, input, select, canvas, h1, h2, h3, img'))
                 .filter(e => e.getClientRects().length && !e.closest('.js-plotly-plot, [data-testid="stDataFrame"]'))
                 .filter(e => !hiddenForSight(e))
                 .filter(e => { const r = e.getBoundingClientRect();
                                return r.width && (r.left < -1 || r.right > w + 1); })
                 .map(e => e.outerHTML.slice(0, 80));
               return {main: main.scrollWidth - main.clientWidth,
                       doc: document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth, cut}; }"""
        )
        if found["main"] > 1 or found["doc"] > 1 or found["cut"]:
            overflow[title] = found
    page.set_viewport_size(VIEWPORT)
    assert not overflow, overflow


TRANSITIONS = """() => Array.from(document.querySelectorAll('*')).filter(e => { const s = getComputedStyle(e);
  const longest = (v) => Math.max(...v.split(',').map(parseFloat));
  return longest(s.transitionDuration) > 0.01 || (s.animationName !== 'none' && longest(s.animationDuration) > 0.01);
}).length"""


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
@pytest.mark.parametrize("path, heading", [("latent", "Latent space"), ("train", "Train")])
def test_reduced_motion_turns_transitions_and_animations_off(servers, browser, motion, path, heading):
    """The latent map, and the Train page where a live training redraws its map and the replay slider."""
    context = browser.new_context(viewport=VIEWPORT, reduced_motion=motion)
    try:
        page = context.new_page()
        page.goto(f"{servers('light').url}/{path}", wait_until="domcontentloaded", timeout=LOAD_MS)
        page.locator("h1", has_text=heading).wait_for(timeout=LOAD_MS)
        if path == "latent":
            open_latent_map(page)
        axe.settle(page)
        moving = page.evaluate(TRANSITIONS)
        if motion == "reduce":
            assert page.evaluate("() => matchMedia('(prefers-reduced-motion: reduce)').matches")
            assert moving == 0
        else:
            assert moving > 0  # Streamlit's own (the sidebar's slide, buttons): what the reduced setting turns off
    finally:
        context.close()
