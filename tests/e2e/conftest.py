"""End-to-end fixtures, one a module: real servers (harness.server) and headless Chromium (harness.browser)."""

import contextlib

import pytest

from harness.browser import headless_chromium
from harness.server import serving


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    """`serve(name, before=None, **options)`: a started `streamlit run app.py` on a fresh runs folder
    named after `name` (`before(runs)` fills it first), its log beside it; each is stopped after the module.
    `options` go to harness.server.serving (timeout, env, ...)."""
    with contextlib.ExitStack() as stack:

        def start(name: str, before=None, **options):
            runs = tmp_path_factory.mktemp(name)
            if before is not None:
                before(runs)
            return stack.enter_context(serving(runs, runs.parent / f"streamlit-{runs.name}.log", **options))

        yield start


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module's tests (each opens its own contexts)."""
    with headless_chromium() as chromium:
        yield chromium
