"""User images and drawings -> MNIST-like digits: real files of every kind, hostile files, fuzzing."""

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cvae.data.user_digit import MAX_BYTES, DigitImageError, from_canvas, load_digit
from tests.support.fuzzing import mutated_bytes

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # refused anyway

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _encode(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def _valid_digit(out) -> None:
    assert isinstance(out, np.ndarray) and out.shape == (28, 28) and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and out.min() >= 0.0 and out.max() <= 1.0
    assert out.max() == pytest.approx(1.0)


def _corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module")
def digits(mnist5k):
    _, test = mnist5k
    return test.images[:40, 0]


@pytest.fixture(scope="module")
def seven(digits):
    """One MNIST digit as dark ink on white paper, 10x larger: what a user's scan looks like."""
    u8 = np.round((1 - digits[0]) * 255).astype(np.uint8)
    return Image.fromarray(u8).resize((280, 280), Image.BICUBIC), digits[0]


# --- what MNIST's preprocessing promises ----------------------------------------------------------


def test_mnist_digits_pass_through_unchanged(digits):
    """Real MNIST digits were made by this very procedure: they must come back (almost) as they are."""
    corr = [_corr(load_digit(_encode(Image.fromarray(np.round(d * 255).astype(np.uint8)))), d) for d in digits]
    assert np.median(corr) > 0.99 and min(corr) > 0.7, corr


def test_crop_scale_and_centre_of_mass():
    canvas = np.full((300, 500), 255, np.uint8)
    canvas[40:240, 60:110] = 0  # a tall dark bar, 200 x 50, off-centre, on white
    out = load_digit(_encode(Image.fromarray(canvas)))
    _valid_digit(out)
    rows, cols = np.flatnonzero(out.max(axis=1) > 0.5), np.flatnonzero(out.max(axis=0) > 0.5)
    assert rows[-1] - rows[0] + 1 == 20  # longer side scaled to 20 px
    assert 4 <= cols[-1] - cols[0] + 1 <= 6  # aspect kept (50/200 * 20 = 5)
    ys, xs = np.indices(out.shape)
    cy, cx = (out * ys).sum() / out.sum(), (out * xs).sum() / out.sum()
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1  # centre of mass at the centre
    assert out[0].max() == 0 and out[-1].max() == 0  # black background


@pytest.mark.parametrize(
    "kind",
    [
        "grey-png",
        "rgb-jpeg",
        "rgba-png",
        "palette-png",
        "palette-gif",
        "cmyk-jpeg",
        "16bit-png",
        "bilevel-png",
        "bmp",
        "webp",
        "white-on-black",
        "transparent-png",
    ],
)
def test_every_kind_of_image_gives_the_same_digit(seven, kind):
    image, reference = seven
    rgb = image.convert("RGB")
    if kind == "grey-png":
        data = _encode(image)
    elif kind == "rgb-jpeg":
        data = _encode(rgb, "JPEG", quality=85)
    elif kind == "rgba-png":
        data = _encode(rgb.convert("RGBA"))
    elif kind == "palette-png":
        data = _encode(rgb.convert("P", palette=Image.ADAPTIVE, colors=16))
    elif kind == "palette-gif":
        data = _encode(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), "GIF")
    elif kind == "cmyk-jpeg":
        data = _encode(rgb.convert("CMYK"), "JPEG", quality=90)
    elif kind == "16bit-png":
        data = _encode(Image.fromarray(np.asarray(image).astype(np.uint16) * 257))
        assert Image.open(io.BytesIO(data)).mode.startswith("I")
    elif kind == "bilevel-png":
        data = _encode(image.convert("1"))
    elif kind == "bmp":
        data = _encode(rgb, "BMP")
    elif kind == "webp":
        data = _encode(rgb, "WEBP", quality=90)
    elif kind == "white-on-black":
        data = _encode(Image.fromarray(255 - np.asarray(image)))
    else:  # black ink on a fully transparent background: composited on white paper
        ink = np.asarray(image) < 128
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[ink, 3] = 255
        data = _encode(Image.fromarray(rgba, "RGBA"))
    out = load_digit(data)
    _valid_digit(out)
    assert _corr(out, reference) > 0.85, kind


def test_noisy_grey_photo_background_is_removed(seven):
    image, reference = seven
    rng = np.random.default_rng(0)
    paper = np.asarray(image).astype(float) * 0.6 + 70 + rng.normal(0, 6, (280, 280))  # grey paper
    out = load_digit(_encode(Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)), "JPEG"))
    _valid_digit(out)
    assert _corr(out, reference) > 0.85
    assert np.median(out) == 0.0


def test_large_image_within_limits(seven):
    image, reference = seven
    big = image.resize((4000, 4000), Image.NEAREST)  # 16 Mpx: under the limit
    out = load_digit(_encode(big, "PNG", compress_level=1))
    assert _corr(out, reference) > 0.85


# --- refused inputs --------------------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height with (almost) no pixel data: a bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _frames(fmt: str) -> bytes:
    frames = [Image.new("L", (32, 32), 0), Image.new("L", (32, 32), 255)]
    frames[1].paste(0, (8, 8, 24, 24))
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _bad_inputs() -> dict[str, tuple[object, str]]:
    """name -> (input, a phrase the error message must contain)."""
    digit = np.full((60, 60), 255, np.uint8)
    digit[10:50, 25:35] = 0
    png, jpeg = _encode(Image.fromarray(digit)), _encode(Image.fromarray(digit), "JPEG")
    gif = _encode(Image.fromarray(digit), "GIF")
    return {
        "empty": (b"", "empty"),
        "text": (b"hello, I am not an image\n" * 10, "not an image"),
        "html": (b"<html><script>alert(1)</script></html>", "not an image"),
        "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="9"/></svg>', "not an image"),
        "zip": (b"PK\x03\x04" + b"\x00" * 100, "not an image"),
        "pdf": (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "not an image"),
        "png-magic-only": (b"\x89PNG\r\n\x1a\n", "PNG file is truncated"),
        "truncated-png": (png[: len(png) // 2], "truncated"),
        "truncated-jpeg": (jpeg[: len(jpeg) // 2], "truncated"),
        "truncated-gif": (gif[: len(gif) - 20], "truncated"),
        "png-bad-crc": (png[:40] + bytes([png[40] ^ 0xFF]) + png[41:], "corrupt"),
        "tiff-not-accepted": (_encode(Image.fromarray(digit), "TIFF"), "not an image"),
        "1x1-white": (_encode(Image.new("L", (1, 1), 255)), "blank"),
        "1x1-black": (_encode(Image.new("RGB", (1, 1), 0)), "blank"),
        "blank-white": (_encode(Image.new("L", (200, 100), 255)), "blank"),
        "blank-black-jpeg": (_encode(Image.new("RGB", (64, 64), 0), "JPEG"), "blank"),
        "blank-transparent": (_encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0))), "blank"),
        "faint-smudge": (_encode(Image.fromarray(np.where(digit == 0, 250, 255).astype(np.uint8))), "blank"),
        "10000x10000": (_encode(Image.new("L", (10000, 10000), 0)), "too large"),
        "5000x5000-between-limits": (_encode(Image.new("1", (5000, 5000), 0)), "5000 x 5000"),
        "bomb-header-100000x100000": (_png_header_only(100_000, 100_000), "too large"),
        "bomb-header-1x20000": (_png_header_only(1, 20_000), "1 x 20000"),
        "bomb-header-0x0": (_png_header_only(0, 0), "corrupt"),
        "animated-gif": (_frames("GIF"), "animated"),
        "animated-png": (_frames("PNG"), "animated"),
        "animated-webp": (_frames("WEBP"), "animated"),
        "over-byte-limit": (png + b"\x00" * MAX_BYTES, "limit"),
        "str-not-bytes": ("a string", "expected image bytes"),
        "none": (None, "expected image bytes"),
    }


BAD = _bad_inputs()


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_inputs_are_refused_with_a_clear_message(name):
    data, phrase = BAD[name]
    with pytest.raises(DigitImageError) as info:
        load_digit(data)
    assert phrase in str(info.value), (name, str(info.value))
    assert "Traceback" not in str(info.value)


def test_our_pixel_limit_applies_before_decoding_without_changing_pils_global():
    from cvae.data.user_digit import MAX_PIXELS

    before = Image.MAX_IMAGE_PIXELS
    side = int(MAX_PIXELS**0.5) + 1  # just over our limit, far under PIL's own
    with pytest.raises(DigitImageError, match="megapixels"):
        load_digit(_png_header_only(side, side))
    assert before == Image.MAX_IMAGE_PIXELS  # importing and using the loader leaves PIL's setting alone


# --- drawing canvas --------------------------------------------------------------------------------


def _stroke_canvas(background, ink, alpha_bg):
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = background, alpha_bg
    rgba[60:220, 130:155, :3], rgba[60:220, 130:155, 3] = ink, 255  # a "1"
    return rgba


@pytest.mark.parametrize("background, ink, alpha_bg", [(0, 255, 0), (0, 0, 0), (0, 255, 255), (255, 0, 255)])
def test_canvas_strokes_become_a_white_digit(background, ink, alpha_bg):
    out = from_canvas(_stroke_canvas(background, ink, alpha_bg))
    _valid_digit(out)
    assert out[4:24, 13:15].min() > 0.5 and out[:, :8].max() == 0  # a centred vertical bar
    assert np.allclose(from_canvas(_stroke_canvas(background, ink, alpha_bg).astype(np.float64) / 255), out, atol=1e-5)


@pytest.mark.parametrize(
    "array, phrase",
    [
        (np.zeros((280, 280, 4), np.uint8), "blank"),  # an untouched transparent canvas
        (np.full((10, 10, 4), 255, np.uint8), "blank"),
        (np.zeros((280, 280), np.uint8), "(H, W, 4)"),
        (np.zeros((5, 5, 2), np.uint8), "(H, W, 4)"),
        (np.zeros((0, 5, 4), np.uint8), "no pixels"),
        (np.full((5, 5, 4), np.nan), "non-finite"),
        (np.full((5, 5, 4), "x"), "numbers"),
        (np.zeros((1, 9000, 4), np.uint8), "limit"),
    ],
)
def test_bad_canvases_are_refused(array, phrase):
    with pytest.raises(DigitImageError, match=None) as info:
        from_canvas(array)
    assert phrase in str(info.value)


# --- fuzzing: only a valid digit or DigitImageError, ever ---------------------------------------


def _seeds() -> list[bytes]:
    digit = np.full((40, 40), 255, np.uint8)
    digit[8:32, 16:24] = 0
    image = Image.fromarray(digit)
    return [
        _encode(image),
        _encode(image, "JPEG"),
        _encode(image.convert("P"), "GIF"),
        _encode(image, "BMP"),
        _encode(image, "WEBP"),
        _encode(image.convert("RGBA")),
        _encode(Image.fromarray(digit.astype(np.uint16) * 257)),
        _encode(image.convert("CMYK"), "JPEG"),
        _frames("GIF"),
    ]


SEEDS = _seeds()


def _check(data, reader=load_digit) -> None:
    """Either a valid digit or a DigitImageError with a message; nothing else escapes."""
    try:
        out = reader(data)
    except DigitImageError as err:
        assert str(err)
    else:
        _valid_digit(out)


@FUZZ
@given(st.binary(max_size=4096))
def test_fuzz_random_bytes(data):
    _check(data)


@FUZZ
@given(
    st.binary(max_size=64),
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8 "]),
)
def test_fuzz_random_bytes_behind_real_magic(tail, magic):
    _check(magic + tail)


def _mutated():
    return mutated_bytes(
        st.sampled_from(SEEDS),
        max_ops=8,
        chunk=32,
        extremes=[b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x01\x00\x00"],
    )


@settings(FUZZ, max_examples=600)
@given(_mutated())
def test_fuzz_mutated_valid_images(data):
    _check(data)


@FUZZ
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_fuzz_canvas_arrays(h, w, seed):
    rgba = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[np.random.default_rng(seed + 1).random((h, w)) < 0.7] = 0  # mostly empty canvas
    _check(rgba, from_canvas)


# --- the "Your digit" page (AppTest cannot upload: inputs go in through the page's session key) ---


@pytest.fixture
def page(runs_dir):
    from tests.conftest import open_app

    return open_app("your_digit")


def _captions(at) -> set[str]:
    return {img.caption for element in at.get("image") for img in element.proto.imgs}


def _no_failure(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_page_invites_an_input(page):
    _no_failure(page)
    assert any("Upload an image of a single digit" in i.value for i in page.info)
    assert page.title[0].value == "Your digit"


def test_page_example_digit_is_encoded_placed_and_reconstructed(page):
    page.button(key="digit_example").click().run()
    _no_failure(page)
    captions = _captions(page)
    assert "your digit, 28 x 28 as the model sees it" in captions
    assert "reconstruction (decoded at the mean)" in captions
    assert any(m.value.startswith("q(z|x): mean (") for m in page.markdown)
    assert any("Nearest test digits" in c.value for c in page.caption)
    assert len(page.get("plotly_chart")) == 1


def test_page_places_an_uploaded_test_digit_where_the_model_put_it(page):
    from cvae.viz.images import to_png
    from ui.model_cache import encoded_for
    from ui.model_choice import PRETRAINED

    encoded = encoded_for(PRETRAINED)
    index = 3
    data = to_png(1.0 - encoded.images[index, 0], 200)  # a 200 px dark-on-light scan of a test digit
    page.session_state["digit_input"] = {"kind": "upload", "data": data, "name": "scan.png"}
    page.run()
    _no_failure(page)
    text = next(m.value for m in page.markdown if m.value.startswith("q(z|x): mean ("))
    mean = [float(v) for v in text.split("mean (")[1].split(")")[0].split(", ")]
    np.testing.assert_allclose(mean, encoded.mu[index], atol=0.1)


def test_page_shows_a_drawing(page):
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[50:230, 125:150, :3] = 255  # a white "1" on the black canvas
    page.session_state["digit_input"] = {
        "kind": "canvas",
        "data": _encode(Image.fromarray(rgba, "RGBA")),
        "name": "your drawing",
    }
    page.run()
    _no_failure(page)
    assert "your digit, 28 x 28 as the model sees it" in _captions(page)


@pytest.mark.parametrize(
    "name",
    sorted(n for n, (d, _) in BAD.items() if isinstance(d, bytes) and n not in ("over-byte-limit", "10000x10000"))
    + ["canvas-garbage"],
)
def test_page_shows_every_bad_input_as_an_error_not_a_traceback(page, name):
    data, phrase = BAD.get(name, (b"garbage from a browser", "not an image"))
    kind = "canvas" if name == "canvas-garbage" else "upload"
    page.session_state["digit_input"] = {"kind": kind, "data": data, "name": "bad.png"}
    page.run()
    assert not page.exception, page.exception
    assert len(page.error) == 1 and phrase in page.error[0].value, [e.value for e in page.error]
    assert page.error[0].value.startswith("bad.png cannot be used: ")
    assert "Traceback" not in page.error[0].value
    assert not page.get("plotly_chart")


def test_page_refuses_a_huge_image(page):
    data, _ = BAD["10000x10000"]
    page.session_state["digit_input"] = {"kind": "upload", "data": data, "name": "huge.png"}
    page.run()
    assert not page.exception and "too large" in page.error[0].value


# --- server settings that bound what a user can send ---------------------------------------------


def test_server_limits_uploads_and_keeps_xsrf_protection():
    import tomllib

    from tests.conftest import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    from cvae.store.bundle import MAX_BUNDLE_BYTES

    assert 1 <= server["maxUploadSize"] <= MAX_BUNDLE_BYTES / 2**20  # MB: set, and no more than any loader takes
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True  # CORS protection is not switched off either


@pytest.mark.slow
def test_drawing_on_the_canvas_in_a_real_browser(tmp_path):
    """streamlit-drawable-canvas on this Streamlit, in Debian's headless chromium: a stroke drawn
    with the mouse becomes a digit, is encoded and placed on the map, with no error on the page."""
    from harness.browser import CHROMIUM_ARGS, chromium_path, open_page, screenshot, wait_script_idle
    from harness.server import StreamlitServer

    sync_api = pytest.importorskip("playwright.sync_api")
    if chromium_path() is None:
        pytest.skip("needs Debian's chromium")
    server = StreamlitServer(tmp_path / "runs", tmp_path / "streamlit.log")
    url = server.start(timeout=120)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                open_page(browser, url + "/", "CVAE Explorer").context.close()
                page = open_page(browser, url + "/your_digit", "Your digit")
                page.get_by_role("tab", name="Draw").click()
                find_canvas = """() => {
                    const find = (root) => { for (const el of root.querySelectorAll('*')) {
                        if (el.tagName === 'CANVAS' && (el.className || '').includes('upper')) return el;
                        if (el.shadowRoot) { const hit = find(el.shadowRoot); if (hit) return hit; } } return null; };
                    const c = find(document); if (!c) return null;
                    const r = c.getBoundingClientRect(); return r.width > 100 ? [r.x, r.y, r.width, r.height] : null;
                }"""
                result = page.get_by_text("Nearest test digits in latent space")
                for attempt in range(4):  # fabric.js may still be wiring its mouse handlers
                    wait_script_idle(page)  # a rerun can remount the canvas: find it afresh
                    page.wait_for_timeout(1_000)
                    x, y, w, h = page.wait_for_function(find_canvas, timeout=60_000).json_value()
                    page.mouse.move(x + w * 0.5, y + h * 0.15)
                    page.mouse.down()
                    for k in range(1, 21):
                        page.mouse.move(x + w * 0.5, y + h * (0.15 + 0.7 * k / 20), steps=2)
                    page.mouse.up()
                    try:
                        result.wait_for(timeout=30_000)
                        break
                    except sync_api.TimeoutError:
                        screenshot(page, f"your_digit_draw_attempt{attempt}")
                result.wait_for(timeout=30_000)
                wait_script_idle(page)
                for caption in ("your digit, 28 x 28", "reconstruction (decoded at the mean)"):
                    page.locator('[data-testid="stImageCaption"]', has_text=caption).first.wait_for()
                errors = page.evaluate("""() => Array.from(document.querySelectorAll(
                    '[data-testid="stException"], [data-testid="stAlertContentError"]')).map(e => e.innerText)""")
                assert errors == []
                page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # the latent map
                assert page.locator(".js-plotly-plot").count() == 1
                screenshot(page, "your_digit_drawn")
            finally:
                browser.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log_tail(100_000)
