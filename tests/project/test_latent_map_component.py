"""The latent map component's files: the committed bundles are built from the committed sources,
and nothing is fetched from outside the app."""

import hashlib
import re

from tests.conftest import ROOT

UI = ROOT / "ui" / "latent_map"


def _inputs() -> list[str]:
    text = (UI / "build.mjs").read_text()
    return re.findall(r'"([\w/]+\.js)"', text[text.index("INPUTS") : text.index("];")])


def test_the_bundles_were_built_from_these_sources():
    digest = hashlib.sha256()
    for name in _inputs():
        digest.update(
            name.encode() + b"\0" + (UI / name).read_text(encoding="utf-8").replace("\r\n", "\n").encode() + b"\0"
        )
    for bundle in ("latent_map.js", "latent_map_view.js"):
        first = (UI / "dist" / bundle).read_text(encoding="utf-8").splitlines()[0]
        assert digest.hexdigest() in first, f"dist/{bundle} is stale: run `npm ci && npm run build` in ui/latent_map"


def test_every_source_is_in_the_bundle_inputs():
    sources = {f"src/{p.name}" for p in (UI / "src").glob("*.js")} | {"decoder.js", "kernels_wasm.js"}
    assert sources == set(_inputs())


def test_no_url_outside_the_app():
    for path in [*(UI / "dist").glob("*.js"), *(UI / "src").glob("*")]:
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), f"{path} names an outside URL"


def test_the_lockfile_pins_the_bundler():
    lock = (UI / "package-lock.json").read_text()
    assert '"node_modules/esbuild"' in lock and '"integrity"' in lock
