"""Fixtures shared by the suite: real data, one real short fit, and the app under AppTest."""

import inspect
import re
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_TIMEOUT = 180  # s for one script run under AppTest: a page's first run imports PyMC or encodes digits


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: end-to-end tests (real fits, servers, browsers)")
    config.addinivalue_line("markers", "browser: drives headless Chromium, itself or through a fixture")


def pytest_collection_modifyitems(config, items):
    """Mark every test that drives Chromium, itself or through a fixture, as `browser`: the second stack
    in .ci/run leaves those to the first (the browser sees the same pages whichever PyMC serves them)."""
    for item in items:
        if _drives_a_browser(item):
            item.add_marker(pytest.mark.browser)


def _drives_a_browser(item) -> bool:
    fixtures = getattr(item, "_fixtureinfo", None)
    functions = [getattr(item, "obj", None)]
    if fixtures is not None:
        # the definition each name resolves to (the last: a module's own `browser` hides the folder's)
        functions += [d.func for name in item.fixturenames for d in fixtures.name2fixturedefs.get(name, ())[-1:]]
    for function in functions:
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        if re.search(r"headless_chromium|sync_playwright|\bchromium\b|Harness\(", source):
            return True
    return False


@pytest.fixture(scope="session")
def mnist5k():
    from cvae.data.datasets import load_dataset

    return load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, mnist5k):
    """One real short fit of the default network shared by the tests that need a trained model."""
    from cvae.config import TrainConfig
    from cvae.training.trainer import train

    train_set, _ = mnist5k
    config = TrainConfig(arch="keras-example", epochs=4, seed=0)
    return train(config, train_set.images)


@pytest.fixture(scope="session")
def dask_client():
    """A real embedded Dask cluster, two worker processes, shared by the tests that train on it."""
    from cvae.jobs.cluster import connect, shutdown

    client = connect(workers=2)
    yield client
    shutdown(client)


@pytest.fixture
def registry_on(dask_client):
    """`registry_on(path, max_queued=...)`: a job registry for runs under `path`, training on the cluster."""
    from cvae.db import Database
    from cvae.jobs.registry import JobRegistry

    made = []

    def make(path: Path, *, max_queued: int = 4):
        db = Database(f"sqlite:///{path / 'cvae.sqlite3'}")  # the app's default: SQLite beside the runs
        db.upgrade()
        made.append(JobRegistry(path, db, max_queued=max_queued, connect=lambda: dask_client))
        return made[-1]

    yield make
    for registry in made:
        registry.close()


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server on 127.0.0.1 for the session (Debian's binaries; .ci/run installs them)."""
    from harness.postgres import start_postgres

    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file, then a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cvae.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"t{uuid.uuid4().hex}")


@pytest.fixture
def db(database_url):
    """The app's Database on `database_url`, migrated; disposed after the test."""
    from cvae.db import Database

    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    """An empty runs directory that the app (CVAE_RUNS_DIR) saves to."""
    root = tmp_path / "runs"
    monkeypatch.setenv("CVAE_RUNS_DIR", str(root))
    return root


def page_path(name: str) -> str:
    """The script of app page `name` (e.g. "latent"), as AppTest's switch_page takes it."""
    return f"app_pages/{name}.py"


def open_app(page: str | None = None, *, timeout: float = APP_TIMEOUT, map_drawn: bool = True):
    """A fresh AppTest session of navigation.py (what every session runs), switched to `page` when
    given; fails on an exception. `map_drawn`: as if this session's browser had already shown a
    latent map (AppTest runs no JavaScript to report it; tests/e2e/test_latent_map_browser.py does),
    so the Latent page draws its tools on the first run."""
    from streamlit.testing.v1 import AppTest

    from ui.session_keys import MAP_DRAWN

    at = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=timeout)
    at.session_state[MAP_DRAWN] = map_drawn
    at.run()
    if page is not None:
        at.switch_page(page_path(page)).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(runs_dir):
    """The app's home page in a fresh session, runs saved under a temporary directory."""
    return open_app()


def wait_until_done(job, timeout: float = 300.0) -> None:
    """Poll a training job until it is no longer queued or running."""
    deadline = time.monotonic() + timeout
    while job.active and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not job.active, f"job {job.name} still {job.status} after {timeout:.0f} s"
