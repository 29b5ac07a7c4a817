"""The README stays short and points at pages that exist; the site's own build (`mkdocs build --strict`)
checks the docs' links, nav and docstrings in CI."""

import re

from cvae.settings import ROOT

README = ROOT / "README.md"


def _links(text: str) -> list[str]:
    """Relative targets of markdown links and images, without their #anchor."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+://|#|mailto:", t)]


def test_the_readme_is_short_and_its_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    links = _links(text)
    assert "docs/images/latent.png" in links and "docs/teacher/index.md" in links
    missing = [t for t in links if not (ROOT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


def test_the_readme_keeps_the_two_set_up_commands_and_the_test_command():
    text = README.read_text()
    for command in (
        "python3 -m pip install -r requirements.txt && python3 -m cvae warm",
        "streamlit run app.py",
        "python3 -m pytest -q",
    ):
        assert f"\n{command}\n" in text, command


def test_the_screenshot_is_a_small_png_with_a_text_alternative():
    image = ROOT / "docs" / "images" / "latent.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size < 300_000
    for page in (README, ROOT / "docs" / "index.md"):
        alts = re.findall(r"!\[([^\]]*)\]\([^)]*latent\.png\)", page.read_text())
        assert alts and all(len(alt) > 40 for alt in alts), page.name
