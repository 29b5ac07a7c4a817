"""Project layout rules that keep the app working and the layers apart."""
import re

from tests.conftest import ROOT


def test_every_page_has_a_legacy_entry_shim():
    views = {p.stem for p in (ROOT / "pages" / "views").glob("*.py")}
    shims = {p.stem for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py"}
    assert views == shims
    registered = set(re.findall(r'st\.Page\("pages/views/(\w+)\.py"', (ROOT / "app.py").read_text()))
    assert registered == views


def test_model_package_knows_no_ui_and_pages_no_inference():
    for path in (ROOT / "cvae").glob("*.py"):
        assert not re.search(r"^\s*(import|from) streamlit", path.read_text(), re.M), path
    for path in [ROOT / "app.py", *(ROOT / "pages").rglob("*.py"), *(ROOT / "ui").glob("*.py")]:
        assert not re.search(r"^\s*(import|from) (pymc|pytensor)", path.read_text(), re.M), path
