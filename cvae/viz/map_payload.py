"""The latent map component's payload: scatter, colourings, decoder and lift as one byte string.

Format "cvae-latent-map/1" (read by ui/latent_map/src/payload.js): b"CVLM", the header's length
as a little-endian uint32, the header (UTF-8 JSON), zero padding to a multiple of 8, then the
arrays, each named in the header's "arrays" as {offset (bytes into the array block), count,
dtype ("f32" little-endian float32 or "u8")}. It is built once per model, projection and
density setting, and sent once: reruns hand the browser the same bytes, which Streamlit sends as
a reference to the copy the browser already holds.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field

import numpy as np

from cvae.viz.palette import palette_payload

__all__ = ["FORMAT", "MapData", "build_payload", "read_payload", "slider_range"]

FORMAT = "cvae-latent-map/1"
MAGIC = b"CVLM"
_DTYPES = {"f32": "<f4", "u8": "u1"}


@dataclass(frozen=True)
class MapData:
    """What the map shows, in map coordinates (a projection's (u, v), or z_i and z_j)."""

    coords: np.ndarray  # (N, 2)
    labels: np.ndarray  # (N,) class indices
    class_names: tuple[str, ...]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    axis_titles: tuple[str, str]
    frame: str  # names the coordinate system (model + projection): the browser keeps zoom while it stays
    colourings: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # key -> (title, (N,) values)
    codes: np.ndarray | None = None  # (N, latent) q(z|x) means: a picked digit decodes its own code


def slider_range(codes: np.ndarray, *views: tuple[float, float], at_least: float = 4.0) -> tuple[float, float]:
    """One range for every z slider: all the encoded codes (N, latent) and the map's `views`
    ((lo, hi) each) within reach, whole numbers, at least [-at_least, at_least] (a learned prior
    or a small beta puts codes far beyond N(0, I)'s 4 sd)."""
    lows = [np.min(codes, initial=-at_least), *(lo for lo, _ in views)]
    highs = [np.max(codes, initial=at_least), *(hi for _, hi in views)]
    return float(np.floor(min(lows))), float(np.ceil(max(highs)))


def build_payload(
    target: str,
    data: MapData,
    decoder: tuple[dict, bytes],
    *,
    grid_lift: dict | None = None,
    density: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    slider_range: tuple[float, float] = (-4.0, 4.0),
) -> bytes:
    """The payload bytes for the map component whose Streamlit key is `target`.

    `decoder` is `export_decoder`'s (spec, weights); `grid_lift` a GridLift's JSON with its codes
    as an array (n*n, latent) under "codes" (moved into the binary part); `density` = (xs, ys,
    values (len(ys), len(xs))), drawn as log10.
    """
    n = len(data.coords)
    if data.coords.shape != (n, 2) or data.labels.shape != (n,):
        raise ValueError(f"coords must be (N, 2) and labels (N,); got {data.coords.shape} and {data.labels.shape}")
    if n and (data.labels.min() < 0 or data.labels.max() >= min(256, len(data.class_names))):
        raise ValueError("every label must index class_names (and fit a byte)")
    spec, weights = decoder
    arrays: dict[str, tuple[str, np.ndarray]] = {
        "coords": ("f32", data.coords),
        "labels": ("u8", data.labels),
        "weights": ("f32", np.frombuffer(weights, "<f4")),
    }
    colourings: dict[str, dict | None] = {"label": None}
    for key, (title, values) in data.colourings.items():
        arrays[f"colour_{key}"] = ("f32", np.asarray(values).reshape(n))
        colourings[key] = {"title": title, "array": f"colour_{key}"}
    if data.codes is not None:
        arrays["codes"] = ("f32", np.asarray(data.codes).reshape(n, spec["latent_dim"]))
    header = {
        "format": FORMAT,
        "target": target,
        "frame": data.frame,
        "n": n,
        "latent_dim": spec["latent_dim"],
        "class_names": list(data.class_names),
        "axis_titles": list(data.axis_titles),
        "x_range": [float(v) for v in data.x_range],
        "y_range": [float(v) for v in data.y_range],
        "slider_range": [float(v) for v in slider_range],
        "colourings": colourings,
        "palette": palette_payload(),  # the class colours and shapes (cvae/viz/palette.py)
        "decoder": spec,
        "lift": None,
        "density": None,
    }
    if grid_lift is not None:
        header["lift"] = {k: v for k, v in grid_lift.items() if k != "codes"}
        arrays["lift_codes"] = ("f32", np.asarray(grid_lift["codes"]))
    if density is not None:
        xs, ys, values = density
        header["density"] = {
            "nx": len(xs),
            "ny": len(ys),
            "x_range": [float(xs[0]), float(xs[-1])],
            "y_range": [float(ys[0]), float(ys[-1])],
        }
        arrays["density"] = ("f32", np.log10(np.maximum(np.asarray(values, float), 1e-6)).reshape(len(ys), len(xs)))
    block, header["arrays"] = _pack(arrays)
    header["id"] = hashlib.sha1(json.dumps(header, sort_keys=True).encode() + block).hexdigest()
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    start = 8 + len(text)
    return MAGIC + struct.pack("<I", len(text)) + text + bytes(-start % 8) + block


def _pack(arrays: dict[str, tuple[str, np.ndarray]]) -> tuple[bytes, dict]:
    parts, refs, offset = [], {}, 0
    for name, (dtype, values) in arrays.items():
        raw = np.ascontiguousarray(values, dtype=_DTYPES[dtype]).ravel()
        if dtype == "f32" and not np.all(np.isfinite(raw)):
            raise ValueError(f"{name} holds values that are not finite")
        data = raw.tobytes()
        refs[name] = {"offset": offset, "count": int(raw.size), "dtype": dtype}
        parts.append(data + bytes(-len(data) % 8))  # every array starts 8-byte aligned
        offset += len(parts[-1])
    return b"".join(parts), refs


def read_payload(payload: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the arrays of a payload (the browser's reading, for tests and tools)."""
    if payload[:4] != MAGIC:
        raise ValueError("not a latent-map payload")
    (length,) = struct.unpack("<I", payload[4:8])
    header = json.loads(payload[8 : 8 + length])
    start = 8 + length + (-(8 + length) % 8)
    arrays = {
        name: np.frombuffer(payload, _DTYPES[ref["dtype"]], ref["count"], start + ref["offset"])
        for name, ref in header["arrays"].items()
    }
    return header, arrays
