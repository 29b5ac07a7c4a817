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
