"""Turning a Plotly selection event on the latent map into a latent point.

Streamlit's plotly selection reports only points, never a bare click position, so the
map carries an invisible dense grid trace: a click on empty space selects the nearest
grid node, which is the point decoded. A click that lands on (or within `snap` of) a
digit picks that digit instead, since grid nodes win ties over data markers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LatentPick", "pick_from_selection"]


@dataclass(frozen=True)
class LatentPick:
    z: tuple[float, float]  # the (z1, z2) to decode
    index: int | None  # the encoded digit picked, or None for empty space


def pick_from_selection(
    selection: dict | None, points: np.ndarray, *, grid_curve: int, snap: float
) -> LatentPick | None:
    """The pick a selection event stands for; None when it holds nothing usable.

    `points` (N, 2) are the digits' map positions, in the order of the traces' `customdata`.
    An empty selection (e.g. the same node clicked twice) returns None: keep the last pick.
    """
    if not selection:
        return None
    picked = [p for p in selection.get("points") or [] if _finite_xy(p)]
    digits = [p for p in picked if p.get("curve_number") != grid_curve and _index(p) is not None]
    if digits:
        index = _index(digits[0])
        if 0 <= index < len(points):
            return LatentPick(tuple(float(v) for v in points[index]), index)
    if picked:
        xy = (float(picked[0]["x"]), float(picked[0]["y"]))
    else:
        boxes = selection.get("box") or []
        if not boxes or not boxes[0].get("x") or not boxes[0].get("y"):
            return None
        xy = (float(np.mean(boxes[0]["x"])), float(np.mean(boxes[0]["y"])))
        if not np.all(np.isfinite(xy)):
            return None
    if len(points):
        distances = np.hypot(points[:, 0] - xy[0], points[:, 1] - xy[1])
        nearest = int(np.argmin(distances))
        if distances[nearest] <= snap:
            return LatentPick(tuple(float(v) for v in points[nearest]), nearest)
    return LatentPick(xy, None)


def _index(point: dict) -> int | None:
    data = point.get("customdata")
    if isinstance(data, (list, tuple)):
        data = data[0] if data else None
    try:
        return int(data) if data is not None else None
    except (TypeError, ValueError):
        return None


def _finite_xy(point: dict) -> bool:
    try:
        return bool(np.isfinite(float(point["x"])) and np.isfinite(float(point["y"])))
    except (KeyError, TypeError, ValueError):
        return False
