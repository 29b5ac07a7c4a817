"""Colour-vision-deficiency simulation and colour distances, to check the class palette.

Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color vision
deficiency", severity 1.0 matrices, applied in linear sRGB; distances are CIEDE2000 (Sharma, Wu &
Dalal 2005) in CIELAB under D65.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "MACHADO_2009",
    "ciede2000",
    "ciede2000_lab",
    "contrast_ratio",
    "hex_to_rgb",
    "min_pairwise_distance",
    "simulate",
]

MACHADO_2009 = {
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}
_SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def hex_to_rgb(colour: str) -> np.ndarray:
    """'#RRGGBB' -> (3,) sRGB in [0, 1]; anything else raises ValueError."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected a colour as #RRGGBB, got {colour!r}")
    return np.array([int(text[i : i + 2], 16) for i in (0, 2, 4)], float) / 255.0


def _to_linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def simulate(rgb: np.ndarray, kind: str) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] as seen with `kind` (a key of MACHADO_2009, or "normal")."""
    if kind == "normal":
        return np.asarray(rgb, float)
    if kind not in MACHADO_2009:
        raise ValueError(f"unknown deficiency {kind!r}: one of normal, {', '.join(MACHADO_2009)}")
    return _to_srgb(_to_linear(np.asarray(rgb, float)) @ MACHADO_2009[kind].T)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB -> CIELAB (D65)."""
    xyz = _to_linear(rgb) @ _SRGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def ciede2000(rgb1: np.ndarray, rgb2: np.ndarray) -> float:
    """CIEDE2000 colour difference of two sRGB colours (kL = kC = kH = 1)."""
    return ciede2000_lab(_lab(np.asarray(rgb1, float)), _lab(np.asarray(rgb2, float)))


def ciede2000_lab(lab1, lab2) -> float:
    """CIEDE2000 of two CIELAB triples (Sharma, Wu & Dalal 2005, equations 2-22)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dlp, dcp = l2 - l1, c2p - c1p
    dh = h2p - h1p
    if c1p * c2p == 0:
        dh = 0.0
    elif dh > 180:
        dh -= 360
    elif dh < -180:
        dh += 360
    dhp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, c_bar_p = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * c_bar_p
    s_h = 1 + 0.015 * c_bar_p * t
    r_t = (
        -2
        * np.sqrt(c_bar_p**7 / (c_bar_p**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((h_bar - 275) / 25) ** 2))))
    )
    return float(np.sqrt((dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (dhp / s_h) ** 2 + r_t * (dcp / s_c) * (dhp / s_h)))


def min_pairwise_distance(colours: list[str], kind: str = "normal") -> tuple[float, tuple[int, int]]:
    """The smallest CIEDE2000 distance between two of `colours` as seen with `kind`, and which pair."""
    seen = [simulate(hex_to_rgb(c), kind) for c in colours]
    return min((ciede2000(seen[i], seen[j]), (i, j)) for i, j in itertools.combinations(range(len(seen)), 2))


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.1 contrast ratio of two '#RRGGBB' colours (1 to 21)."""
    lum = [float(_to_linear(hex_to_rgb(c)) @ np.array([0.2126, 0.7152, 0.0722])) for c in (fg, bg)]
    hi, lo = max(lum), min(lum)
    return (hi + 0.05) / (lo + 0.05)
