"""An independent NumPy (float64) interpreter of the "cvae-decoder/1" format, for tests."""

from __future__ import annotations

import numpy as np

__all__ = ["reference_decode"]


def _act(name: str, x: np.ndarray) -> np.ndarray:
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "softplus":
        return np.logaddexp(0, x)
    raise ValueError(name)


def _cb_mean(t: np.ndarray) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    small = np.abs(t) < 1e-3
    safe = np.where(small, 1.0, t)
    return np.where(small, 0.5 + t / 12, -1 / np.expm1(-safe) - 1 / safe)


def reference_decode(spec: dict, weights: bytes, z: np.ndarray, labels=None) -> np.ndarray:
    """z (N, L) [, labels (N,) ints] -> pixel means (N, H*W), float64."""
    w = np.frombuffer(weights, dtype="<f4").astype(np.float64)
    get = lambda ref: w[ref[0] : ref[0] + ref[1]]
    x = np.asarray(z, dtype=np.float64)
    if spec.get("conditioning"):
        onehot = np.eye(spec["conditioning"])[np.asarray(labels)]
        x = np.concatenate([x, onehot], axis=1)
    n = x.shape[0]
    for layer in spec["layers"]:
        t = layer["type"]
        if t == "dense":
            x = x.reshape(n, -1) @ get(layer["W"]).reshape(layer["in"], layer["units"]) + get(layer["b"])
        elif t == "reshape":
            x = x.reshape(n, *layer["shape"])
            continue
        elif t in ("conv2d", "conv2d_transpose"):
            k, s, top, left = layer["kernel"], layer["stride"], layer["pad_top"], layer["pad_left"]
            h, wd, c = layer["in_shape"]
            ho, wo, o = layer["out_shape"]
            b = get(layer["b"])
            if t == "conv2d":
                W = get(layer["W"]).reshape(k, k, c, o)
                rows, cols = (ho - 1) * s + k, (wo - 1) * s + k
                xp = np.zeros((n, max(rows, top + h), max(cols, left + wd), c))
                xp[:, top : top + h, left : left + wd] = x
                y = np.zeros((n, ho, wo, o))
                for u in range(k):
                    for v in range(k):
                        y += np.einsum(
                            "bhwc,co->bhwo", xp[:, u : u + (ho - 1) * s + 1 : s, v : v + (wo - 1) * s + 1 : s], W[u, v]
                        )
            else:
                W = get(layer["W"]).reshape(k, k, o, c)
                rows, cols = (h - 1) * s + k, (wd - 1) * s + k
                buf = np.zeros((n, max(rows, top + ho), max(cols, left + wo), o))
                for u in range(k):
                    for v in range(k):
                        buf[:, u : u + (h - 1) * s + 1 : s, v : v + (wd - 1) * s + 1 : s] += np.einsum(
                            "bhwc,oc->bhwo", x, W[u, v]
                        )
                y = buf[:, top : top + ho, left : left + wo]
            x = y + b
        elif t == "affine":
            x = x * get(layer["scale"]) + get(layer["shift"])
        else:
            raise ValueError(t)
        x = _act(layer.get("activation", "linear"), x)
    logits = x.reshape(n, -1)
    return 1 / (1 + np.exp(-logits)) if spec.get("output", "sigmoid") == "sigmoid" else _cb_mean(logits)
