"""Fixtures for the end-to-end tests: real servers (harness.e2e) and a headless browser, one a module."""

import contextlib

import pytest

from harness import e2e


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    """`serve(name, before=None, **options)`: a started `streamlit run app.py` on a fresh runs folder
    named after `name` (`before(runs)` fills it first), its log beside it; each is stopped after the module.
    `options` go to harness.e2e.serving (timeout, env, ...)."""
    with contextlib.ExitStack() as stack:

        def start(name: str, before=None, **options):
            runs = tmp_path_factory.mktemp(name)
            if before is not None:
                before(runs)
            return stack.enter_context(e2e.serving(runs, runs.parent / f"streamlit-{runs.name}.log", **options))

        yield start


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module's tests (each opens its own contexts)."""
    with e2e.headless_chromium() as chromium:
        yield chromium
