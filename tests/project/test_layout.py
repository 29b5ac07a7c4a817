"""Project layout rules that keep the app working and the layers apart."""

import re

from tests.conftest import ROOT


def test_every_page_script_is_registered_and_no_legacy_pages_folder():
    scripts = {p.stem for p in (ROOT / "app_pages").glob("*.py")}
    registered = set(re.findall(r'\("app_pages/(\w+)\.py"', (ROOT / "navigation.py").read_text()))
    assert registered == scripts
    assert not (ROOT / "pages").exists(), "a pages/ folder beside navigation.py switches Streamlit to its legacy mode"


def test_model_package_knows_no_ui_and_pages_no_inference():
    for path in (ROOT / "cvae").rglob("*.py"):
        assert not re.search(r"^\s*(import|from) streamlit", path.read_text(), re.M), path
    app = [ROOT / "app.py", ROOT / "navigation.py", *(ROOT / "app_pages").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]
    for path in app:
        assert not re.search(r"^\s*(import|from) (pymc|pytensor)", path.read_text(), re.M), path


def test_tests_and_benchmarks_share_the_harness_instead_of_importing_each_other():
    """harness/ (servers, browsers, the protocol client, PostgreSQL) is what both use; bench/ never
    imports tests/, and harness/ imports neither."""
    for path in (ROOT / "bench").rglob("*.py"):
        assert not re.search(r"^\s*(import|from) tests\b", path.read_text(), re.M), path
    for path in (ROOT / "harness").rglob("*.py"):
        assert not re.search(r"^\s*(import|from) (tests|bench)\b", path.read_text(), re.M), path


def _imports(path) -> list[str]:
    """Every module a file imports (top level or inside a function), as dotted names."""
    found = re.findall(r"^\s*(?:from ([\w.]+) import|import ([\w.]+))", path.read_text(), re.M)
    return [a or b for a, b in found]


def test_only_cvae_jobs_imports_distributed_and_explore_never_imports_jobs():
    """cvae/jobs/ is the Dask job system; cvae/explore/ is NumPy in, NumPy out, usable without a cluster."""
    for path in (ROOT / "cvae").rglob("*.py"):
        names = _imports(path)
        if "jobs" not in path.relative_to(ROOT / "cvae").parts[:1]:
            assert not [n for n in names if n.split(".")[0] == "distributed"], path
    for path in (ROOT / "cvae" / "explore").rglob("*.py"):
        assert not [n for n in _imports(path) if n.startswith(("cvae.jobs", "distributed", "dask"))], path


def test_the_app_imports_package_faces_not_private_names():
    """ui/ and the pages import public names only: a private helper of cvae stays free to change."""
    app = [ROOT / "app.py", ROOT / "navigation.py", *(ROOT / "app_pages").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]
    for path in app:
        imported = re.findall(r"^\s*from cvae[\w.]* import (\([^)]*\)|.*)$", path.read_text(), re.M)
        private = [name for names in imported for name in re.findall(r"\w+", names) if name.startswith("_")]
        assert not private, (path, private)
