"""Fixtures for the AppTest page tests (the app-wide ones, `app` and `runs_dir`, are in tests/conftest.py)."""

import pytest

from tests.conftest import page_path


@pytest.fixture
def train_page(app):
    """A fresh session on the Train page, run once without an exception."""
    app.switch_page(page_path("train")).run()
    assert not app.exception, app.exception
    return app
