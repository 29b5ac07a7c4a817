"""What the browser's latent map sends back (a "pin"), checked before anything uses it.

The browser is not trusted: a pin may come from a forged websocket message. `parse_pin` accepts
only a small dict of finite numbers of the right shapes and ranges, and raises `PinError` with a
message fit for the page otherwise; nothing else in the app sees an unchecked value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_ABS_Z", "Pin", "PinError", "parse_pin"]

MAX_ABS_Z = 50.0  # |z_i| beyond this is no code a N(0, I) prior makes: refused, not clipped
_KEYS = {"uv", "z", "index", "label"}


class PinError(ValueError):
    """A pin from the browser that does not describe a point of this map."""


@dataclass(frozen=True)
class Pin:
    uv: tuple[float, float] | None  # the map point clicked (None: set by the z sliders)
    z: np.ndarray  # (latent,) the browser's code for it (Python recomputes it from uv when it can)
    index: int | None  # the test digit picked, if any
    label: int | None  # the label a conditional decoder was given


def parse_pin(
    value: object,
    *,
    latent_dim: int,
    n_points: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    conditioning: int = 0,
) -> Pin:
    """A checked Pin from the trigger's value; `x_range`, `y_range` are the map's home view.

    A map point may lie up to five view widths beyond the home view (the map pans); z must hold
    `latent_dim` finite numbers within +-MAX_ABS_Z; index must name one of `n_points` digits.
    """
    if not isinstance(value, dict):
        raise PinError(f"a pin must be an object; got {type(value).__name__}")
    unknown = set(value) - _KEYS
    if unknown:
        raise PinError(f"a pin has only {sorted(_KEYS)}; got {sorted(map(str, unknown))[:5]}")
    uv = value.get("uv")
    if uv is not None:
        u, v = _numbers(uv, 2, "uv")
        for name, x, (lo, hi) in (("u", u, x_range), ("v", v, y_range)):
            reach = 5 * (hi - lo)
            if not lo - reach <= x <= hi + reach:
                raise PinError(f"the map point's {name} = {x:g} lies outside the map")
        uv = (u, v)
    z = np.array(_numbers(value.get("z"), latent_dim, "z"))
    if np.abs(z).max(initial=0.0) > MAX_ABS_Z:  # checked before float32, which would overflow to inf
        raise PinError(f"z must lie within +-{MAX_ABS_Z:g}; got {np.abs(z).max():.3g}")
    z = z.astype(np.float32)
    return Pin(uv, z, _optional_int(value.get("index"), n_points, "index"), _label(value.get("label"), conditioning))


def _numbers(value: object, count: int, name: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != count:
        raise PinError(f"{name} must be a list of {count} numbers")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise PinError(f"{name} must hold numbers only")
    out = tuple(float(x) for x in value)
    if not all(math.isfinite(x) for x in out):
        raise PinError(f"{name} must hold finite numbers")
    return out


def _optional_int(value: object, stop: int, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < stop:
        raise PinError(f"{name} must be an integer in [0, {stop}); got {value!r:.40}")
    return value


def _label(value: object, conditioning: int) -> int | None:
    if not conditioning:
        return None  # an unconditional decoder takes no label: whatever came is ignored
    return _optional_int(value, conditioning, "label")
