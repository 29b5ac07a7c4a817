"""A user's image or drawing -> one MNIST-like 28 x 28 digit, refusing hostile or useless files.

MNIST's preprocessing (LeCun et al.): white ink on black, the digit's bounding box scaled so its
longer side is 20 px (aspect kept, anti-aliased), pasted into 28 x 28 with its centre of mass at
the centre. Uploads are untrusted: the size is read from the header and checked before any pixel
is decoded, only a few raster formats are parsed, and every failure is a `DigitImageError`.
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
from PIL import Image

__all__ = [
    "FORMATS",
    "MAX_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "DigitImageError",
    "from_canvas",
    "load_canvas",
    "load_digit",
]

MAX_BYTES = 8 * 1024 * 1024  # no digit image needs more; the upload limit (16 MB) is sized for run bundles
MAX_SIDE = 8192
MAX_PIXELS = 4096 * 4096  # 16.8 Mpx: ~64 MB as float32 at the largest
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # no TIFF/EPS/PSD/...: fewer parsers, fewer holes
_WORK_SIDE = 1024  # larger images are box-reduced to this before any float work
_BOX, _SIZE = 20, 28
_MIN_CONTRAST = 0.1  # ink must differ from the background by 10% of the grey range
_INK = 0.2  # after normalising, a pixel above this counts for the bounding box


class DigitImageError(ValueError):
    """An image that cannot be turned into a digit; the message says why, for the user."""


def load_digit(data: bytes) -> np.ndarray:
    """Image file bytes (PNG, JPEG, GIF, BMP, WebP) -> (28, 28) float32 in [0, 1], white on black.

    Dark-on-light images are inverted; alpha is composited on white; 16-bit, palette and CMYK
    images are converted. Raises DigitImageError for anything else.
    """
    return _to_mnist(_decode(data, _grey))


def load_canvas(data: bytes) -> np.ndarray:
    """A drawing canvas's PNG (as a browser canvas exports it) -> (28, 28) digit, via `from_canvas`.

    The PNG comes from the browser, so it is untrusted and decoded with the same limits as uploads.
    """
    return from_canvas(_decode(data, lambda image: np.asarray(image.convert("RGBA"))))


def _decode(data: bytes, convert):
    """Open `data` with every check, decode it, and return `convert(image)`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DigitImageError(f"expected image bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise DigitImageError("the file is empty")
    if len(data) > MAX_BYTES:
        raise DigitImageError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB")
    try:
        with warnings.catch_warnings():  # PIL's own size limit, as an error here, not a global setting
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(bytes(data)), formats=FORMATS)  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DigitImageError(
            f"the image is too large: over {MAX_PIXELS / 1e6:.1f} megapixels (refused before decoding)"
        ) from err
    except Exception as err:  # hostile input may make any parser raise anything
        kind = _sniff(bytes(data[:16]))
        if kind:
            raise DigitImageError(f"this {kind} file is truncated or corrupt and cannot be read") from err
        raise DigitImageError(
            f"this is not an image in a supported format ({', '.join(f.lower() for f in FORMATS)})"
        ) from err
    with image:
        width, height = image.size
        _check_size(width, height)
        try:
            if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) > 1:
                raise DigitImageError("animated images are not supported: upload a single still image")
            image.load()
            return convert(image)
        except DigitImageError:
            raise
        except Exception as err:
            raise DigitImageError(
                f"the image is truncated or corrupt and cannot be decoded ({type(err).__name__}: {err})"
            ) from err


def from_canvas(rgba: np.ndarray) -> np.ndarray:
    """A drawing canvas's (H, W, 4) RGBA (uint8, or floats in [0, 1]) -> (28, 28) digit.

    On a canvas with transparent parts the opaque strokes are the ink, whatever their colour;
    an opaque canvas is read like an image (dark on light is inverted).
    """
    array = np.asarray(rgba)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise DigitImageError(f"a canvas must be an (H, W, 4) RGBA array; got shape {array.shape}")
    _check_size(array.shape[1], array.shape[0])
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer):
        values = array.astype(np.float32)
        if np.issubdtype(array.dtype, np.integer):
            values /= 255.0
        if not np.all(np.isfinite(values)):
            raise DigitImageError("the canvas holds non-finite values")
        values = np.clip(values, 0.0, 1.0)
    else:
        raise DigitImageError(f"a canvas must hold numbers; got {array.dtype}")
    if values.shape[2] == 4 and np.ptp(values[..., 3]) >= _MIN_CONTRAST:
        return _to_mnist(_reduce(values[..., 3]))  # strokes on a transparent canvas: ink = opacity
    rgb = values[..., :3]
    if values.shape[2] == 4:
        alpha = values[..., 3:]
        rgb = rgb * alpha + (1.0 - alpha)  # on white paper
    grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as PIL's "L"
    return _to_mnist(_reduce(grey))


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)


def _sniff(head: bytes) -> str | None:
    """The format a file claims by its magic bytes, for a helpful message only."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise DigitImageError(f"the image has no pixels ({width} x {height})")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise DigitImageError(
            f"the image is {width} x {height} pixels; the limit is "
            f"{MAX_PIXELS / 1e6:.1f} megapixels and {MAX_SIDE} px a side"
        )


def _grey(image: Image.Image) -> np.ndarray:
    """Any decoded mode -> (H, W) float32 in [0, 1], alpha composited on white, box-reduced."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":  # 16-bit grey (PNG), read as 32-bit ints
        values = np.asarray(image.convert("I") if mode != "I" else image, dtype=np.float32)
        full = 65535.0 if mode != "I" or values.max() > 255 else 255.0
        return _reduce(np.clip(values, 0.0, full) / full)
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        return _reduce(np.clip(np.nan_to_num(values), 0.0, 1.0))
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    grey = image.convert("L")  # P, 1, RGB, CMYK, YCbCr, LAB... -> 8-bit grey
    factor = math.ceil(max(grey.size) / _WORK_SIDE)
    if factor > 1:
        grey = grey.reduce(factor)
    return np.asarray(grey, dtype=np.float32) / 255.0


def _reduce(grey: np.ndarray) -> np.ndarray:
    factor = math.ceil(max(grey.shape) / _WORK_SIDE)
    if factor <= 1:
        return grey.astype(np.float32)
    return np.asarray(Image.fromarray(grey.astype(np.float32), mode="F").reduce(factor), dtype=np.float32)


def _to_mnist(grey: np.ndarray) -> np.ndarray:
    """(H, W) grey in [0, 1] -> (28, 28) white-on-black digit, MNIST's crop/scale/centre."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = 1.0 - grey if background > 0.5 else grey  # dark on light: invert
    background = min(background, 1.0 - background)
    contrast = float(ink.max()) - background
    if contrast < _MIN_CONTRAST:
        raise DigitImageError("no digit found: the image is blank (one colour, or almost)")
    ink = np.clip((ink - background) / contrast, 0.0, 1.0)  # (H, W), background 0, strongest ink 1
    rows, cols = np.flatnonzero((ink > _INK).any(axis=1)), np.flatnonzero((ink > _INK).any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = ink.shape
    scale = _BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    box = Image.fromarray(ink.astype(np.float32), mode="F").resize((new_w, new_h), Image.LANCZOS)
    box = np.clip(np.asarray(box, dtype=np.float32), 0.0, 1.0)  # (new_h, new_w)
    peak = float(box.max())
    if peak <= 0.0:
        raise DigitImageError("no digit found: the ink vanishes at 28 x 28")
    box /= peak  # a thin stroke from a large image stays visible
    total = float(box.sum())
    cy = float((box.sum(axis=1) * np.arange(new_h)).sum()) / total
    cx = float((box.sum(axis=0) * np.arange(new_w)).sum()) / total
    centre = _SIZE / 2.0  # MNIST puts the centre of mass at pixel (14, 14), measured
    top = int(np.clip(round(centre - cy), 0, _SIZE - new_h))
    left = int(np.clip(round(centre - cx), 0, _SIZE - new_w))
    out = np.zeros((_SIZE, _SIZE), dtype=np.float32)
    out[top : top + new_h, left : left + new_w] = box
    return out
