"""ui/latent_map/decoder.js against cvae's compiled PyTensor decoder, in headless Chromium.

`export_decoder` (cvae/model/decoder_export.py) writes each network's decoder; harness.html, served
with ui/latent_map from a local http.server on 127.0.0.1, decodes 1,000 random z per network
with both backends (WebAssembly SIMD and plain JS). The browser must equal cvae within 1e-4;
an independent NumPy interpreter of the format (tests/support/decoder_reference.py) must too. Nothing
leaves the machine.  `python3 -m tests.e2e.test_decoder_js --bench` prints speed figures as JSON.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.model.decoder_export import export_decoder
from cvae.model.vae import VAE
from cvae.store.checkpoint import load_checkpoint
from harness.browser import CHROMIUM_ARGS, chromium_path
from tests.support.decoder_reference import reference_decode

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "ui" / "latent_map"
TOLERANCE = 1e-4
N_Z = 1000
NETWORKS = {"classroom": "keras-example", "seed": "pymc3-example"}


# Glorot-initialised relu stacks shrink the signal layer by layer: every decode would be ~0.5
# grey. These decoder gains spread the pixel means over (0, 1) (pixel sd across z 0.12-0.13).
GAINS = {"keras-example": 2.5, "pymc3-example": 3.0}


def make_vae(arch: str, latent: int, seed: int = 0) -> VAE:
    """Seeded random weights, scaled by GAINS in the decoder, plus random biases (the fresh
    ones are all zero) so that biases are tested too."""
    vae = VAE(TrainConfig(arch=arch, latent_dim=latent, seed=seed))
    rng = np.random.default_rng(seed + 100)
    weights = vae.weights()
    for name, value in weights.items():
        if name.endswith(".b"):
            weights[name] = rng.normal(0, 0.1, value.shape).astype(np.float32)
        elif name.startswith("dec.") and name.endswith(".W"):
            weights[name] = value * np.float32(GAINS[arch])
    vae.set_weights(weights)
    return vae


def latents(latent: int, seed: int = 7, n: int = N_Z) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1.5, (n, latent)).astype(np.float32)


def _append(weights: bytes, array) -> tuple[bytes, list[int]]:
    arr = np.ascontiguousarray(np.asarray(array, dtype="<f4").ravel())
    return weights + arr.tobytes(), [len(weights) // 4, int(arr.size)]


def conditioned_variant(spec: dict, weights: bytes, seed: int = 3) -> tuple[dict, bytes]:
    """Label-conditioned decoder: 10 more input rows in the first dense layer (z first)."""
    spec = json.loads(json.dumps(spec))
    first = spec["layers"][0]
    w = np.frombuffer(weights, dtype="<f4")
    W = w[first["W"][0] : first["W"][0] + first["W"][1]].reshape(first["in"], first["units"])
    extra = np.random.default_rng(seed).normal(0, 0.5, (10, first["units"]))
    weights, first["W"] = _append(weights, np.concatenate([W, extra]))
    first["in"] += 10
    spec["conditioning"] = 10
    spec["n_floats"] = len(weights) // 4
    return spec, weights


def exotic_variant(spec: dict, weights: bytes, seed: int = 4) -> tuple[dict, bytes]:
    """Every other feature of the format: all activations, an affine layer, the CB mean."""
    spec = json.loads(json.dumps(spec))
    rng = np.random.default_rng(seed)
    layers = spec["layers"]
    acts = iter(["tanh", "softplus", "linear", "sigmoid"])
    for layer in layers:
        if layer["type"] in ("dense", "conv2d_transpose") and layer["activation"] == "relu":
            layer["activation"] = next(acts, "relu")
    at = next(
        i for i, layer in enumerate(layers) if layer["type"] == "conv2d_transpose" and layer["activation"] == "linear"
    )
    c = layers[at]["out_shape"][2]
    weights, scale = _append(weights, rng.normal(1, 0.5, c))
    weights, shift = _append(weights, rng.normal(0, 0.3, c))
    layers.insert(at + 1, {"type": "affine", "scale": scale, "shift": shift, "activation": "relu"})
    spec["output"] = "continuous-bernoulli-mean"
    spec["n_floats"] = len(weights) // 4
    return spec, weights


# ---------------------------------------------------------------- server and browser


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".bin": "application/octet-stream",
    }

    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class Site:
    """127.0.0.1 http.server: /latent_map/ -> ui/latent_map, /data/ -> a temp dir."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cvae_js_")
        root = Path(self.tmp.name)
        (root / "data").mkdir()
        (root / "latent_map").symlink_to(UI)
        self.data = root / "data"
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def put(self, name: str, data: bytes) -> str:
        (self.data / name).write_bytes(data)
        return f"{self.url}/data/{name}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.tmp.cleanup()


class Browser:
    def __init__(self, site: Site):
        from playwright.sync_api import sync_playwright

        self.pw = sync_playwright().start()
        try:
            self.browser = self.pw.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True, timeout=60_000
            )
            self.page = self.browser.new_page(viewport={"width": 900, "height": 700})
            self.page.set_default_timeout(120_000)
            self.errors: list[str] = []
            self.page.on("pageerror", lambda err: self.errors.append(str(err)))
            self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
            self.page.route("**/*", self._only_loopback)
            self.page.goto(f"{site.url}/latent_map/harness.html")
            self.page.wait_for_function("window.harnessReady === true")
        except BaseException:
            self.close()
            raise
        self.site = site

    def _only_loopback(self, route):
        if route.request.url.startswith(("http://127.0.0.1:", "blob:", "data:")):
            route.continue_()
        else:
            route.abort()

    def call(self, expr: str, *args):
        return self.page.evaluate(expr, list(args) if args else None)

    def load(self, name: str, spec: dict, weights: bytes, backend: str = "auto") -> dict:
        spec_url = self.site.put(f"{name}.json", json.dumps(spec, allow_nan=False).encode())
        bin_url = self.site.put(f"{name}.bin", weights)
        info = self.call("([n, s, w, b]) => harness.load(n, s, w, b)", name, spec_url, bin_url, backend)
        want = {"js": "js", "wasm": "wasm-simd", "auto": "wasm-simd"}[backend]
        assert info["backend"] == want, (backend, info)
        return info

    def decode_all(self, name: str, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        z_url = self.site.put(f"{name}.z.bin", np.ascontiguousarray(z, dtype="<f4").tobytes())
        l_url = (
            self.site.put(f"{name}.labels.bin", np.asarray(labels, dtype="<i4").tobytes())
            if labels is not None
            else None
        )
        out = self.call("([n, z, l]) => harness.decodeAll(n, z, l)", name, z_url, l_url)
        assert out["decodeMatchesBatch"], "decode() disagrees with decodeBatch() or is not one reused buffer"
        return np.frombuffer(base64.b64decode(out["pixels"]), dtype="<f4").reshape(len(z), -1)

    def close(self):
        for closer in (getattr(self, "browser", None), getattr(self, "pw", None)):
            try:
                if closer is not None:
                    (closer.close if hasattr(closer, "new_page") else closer.stop)()
            except Exception:
                pass


def hover(browser: Browser, name: str, mode: str, seconds: float = 3.0) -> dict:
    """Move the mouse over the map for `seconds` (Playwright input events, as a user's would
    arrive) and return the page's frame statistics."""
    rect = browser.call("([n, m]) => harness.hoverStart(n, m)", name, mode)["rect"]
    page = browser.page
    cx, cy, r = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2, rect["width"] * 0.45
    t0, i = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        a = i * 0.05
        page.mouse.move(cx + r * math.sin(a), cy + r * math.sin(1.7 * a + 0.3))
        i += 1
    page.wait_for_timeout(300)  # let the last frame land
    stats = browser.call("() => harness.hoverStats()")
    stats["mouse_moves_sent"] = i
    return stats


# ---------------------------------------------------------------- the models


def real_models() -> dict[str, VAE]:
    models = {f"{name}-{latent}": make_vae(arch, latent) for name, arch in NETWORKS.items() for latent in (2, 8)}
    models["pretrained-classroom-2"] = load_checkpoint(REPO / "assets" / "pretrained").vae
    return models


@pytest.fixture(scope="module")
def browser():
    site = Site()
    try:
        b = Browser(site)
    except BaseException:
        site.close()
        raise
    yield b
    b.close()
    site.close()


@pytest.fixture(scope="module")
def models():
    return real_models()


BACKENDS = ("wasm", "js")


def check_real(browser: Browser, name: str, vae: VAE, backend: str) -> dict:
    spec, weights = export_decoder(vae)
    browser.load(name, json.loads(json.dumps(spec)), weights, backend)
    z = latents(vae.latent_dim)
    expected = vae.decode(z).reshape(len(z), -1)
    got = browser.decode_all(name, z)
    ref = reference_decode(spec, weights, z)
    return {
        "js_vs_pytensor": float(np.abs(got - expected).max()),
        "numpy_reference_vs_pytensor": float(np.abs(ref - expected).max()),
        "pixel_range": [float(expected.min()), float(expected.max())],
        "mean_image_sd": float(expected.std(axis=0).mean()),
    }


def check_variant(browser: Browser, name: str, spec: dict, weights: bytes, backend: str, n: int = 200) -> dict:
    browser.load(name, spec, weights, backend)
    z = latents(spec["latent_dim"], seed=11, n=n)
    labels = np.random.default_rng(12).integers(0, 10, n) if spec.get("conditioning") else None
    got = browser.decode_all(name, z, labels)
    ref = reference_decode(spec, weights, z, labels)
    return {"js_vs_numpy_reference": float(np.abs(got - ref).max())}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["classroom-2", "classroom-8", "seed-2", "seed-8", "pretrained-classroom-2"])
def test_matches_pytensor(browser, models, name, backend):
    diffs = check_real(browser, f"{name}-{backend}", models[name], backend)
    assert diffs["numpy_reference_vs_pytensor"] <= TOLERANCE, diffs
    assert diffs["js_vs_pytensor"] <= TOLERANCE, diffs
    assert not browser.errors, browser.errors


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("variant", ["conditioned", "exotic"])
def test_format_features(browser, models, variant, backend):
    spec, weights = export_decoder(models["classroom-2"])
    spec, weights = (conditioned_variant if variant == "conditioned" else exotic_variant)(spec, weights)
    diffs = check_variant(browser, f"variant-{variant}-{backend}", spec, weights, backend)
    assert diffs["js_vs_numpy_reference"] <= TOLERANCE, diffs


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_specs_are_refused(browser, models, backend):
    spec, weights = export_decoder(models["classroom-2"])
    browser.load("errors", spec, weights, backend)
    out = browser.call("() => harness.specErrors('errors')")
    # every malformed case the harness builds (ui/latent_map/harness.html), each refused
    cases = {"format", "short_buffer", "n_floats", "odd_bytes", "count", "offset", "kernel_layout", "pads"}
    cases |= {"activation", "layer_type", "chain", "output", "latent", "nan_weight", "z_length", "z_nan"}
    assert set(out) == cases, sorted(set(out) ^ cases)
    for key, message in out.items():
        expected = "RangeError" if key.startswith("z_") else "DecoderSpecError"
        assert message.startswith(expected), (key, message)


def test_auto_backend_is_wasm_simd_in_chromium(browser, models):
    spec, weights = export_decoder(models["classroom-2"])
    assert browser.load("auto", spec, weights, "auto")["wasmSimd"] is True


def test_the_export_states_its_buffer_length(models):
    spec, weights = export_decoder(models["classroom-2"])
    assert spec["n_floats"] * 4 == len(weights)


def test_paint(browser):
    assert browser.call("() => harness.paintCheck()") == {"bad": 0}


# ---------------------------------------------------------------- measurements


def bench(browser: Browser, models: dict[str, VAE], names=("classroom-2", "seed-2"), hover_s: float = 3.0) -> dict:
    out = {"loadavg_before": Path("/proc/loadavg").read_text().split()[:3]}
    out["raf_per_s_idle"] = browser.call("() => harness.rafRate(1000)")
    for backend in BACKENDS:
        for name in names:
            spec, weights = export_decoder(models[name])
            key = f"bench-{name}-{backend}"
            browser.load(key, spec, weights, backend)
            samples = 300 if name.startswith("classroom") else 200
            res = out[f"{name} {backend}"] = {
                "decode": browser.call("([n, s]) => harness.bench(n, {samples: s})", key, samples)
            }
            for mode in ("main", "worker"):
                res[f"hover_{mode}"] = hover(browser, key, mode, hover_s)
    out["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    return out


def main() -> None:
    t0 = time.perf_counter()
    models = real_models()
    site = Site()
    report: dict = {}
    try:
        b = Browser(site)
        try:
            spec, weights = export_decoder(models["classroom-2"])
            for backend in BACKENDS:
                for name, vae in models.items():
                    report[f"{name} {backend}"] = check_real(b, f"{name}-{backend}", vae, backend)
                report[f"variant-conditioned {backend}"] = check_variant(
                    b, f"variant-conditioned-{backend}", *conditioned_variant(spec, weights), backend
                )
                report[f"variant-exotic {backend}"] = check_variant(
                    b, f"variant-exotic-{backend}", *exotic_variant(spec, weights), backend
                )
                b.load("errors", spec, weights, backend)
                report[f"spec_errors {backend}"] = b.call("() => harness.specErrors('errors')")
            report["paint"] = b.call("() => harness.paintCheck()")
            if "--bench" in sys.argv:
                report["bench"] = bench(b, models)
            report["page_errors"] = b.errors
        finally:
            b.close()
    finally:
        site.close()
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
