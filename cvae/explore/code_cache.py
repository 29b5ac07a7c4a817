"""A model's encoded split, kept on disk: the Latent page of a fresh server reads it instead of compiling.

Encoding the test split needs the encoder compiled, which on a fresh server process costs seconds
(PyTensor reads its whole compile cache first). The codes of a model and split never change, so they
are stored once as a plain .npz (no pickle), keyed by a hash of the weights, the images and the
labels: new weights or other data miss the key and are encoded again. The shipped model ships its
file beside its weights (`codes-test.npz`, made by `write_codes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvae.explore.disk_cache import NpzCache, digest, read_npz, write_npz
from cvae.model.vae import VAE
from cvae.settings import settings

__all__ = ["Codes", "codes_key", "encoded_codes", "shipped_codes_path", "write_codes"]

_KEEP_FILES = 32  # newest first; the rest are pruned (a class's models, each a few hundred KB)


@dataclass(frozen=True)
class Codes:
    mu: np.ndarray  # (N, latent): q(z|x) means
    sd: np.ndarray  # (N, latent): q(z|x) standard deviations


def codes_key(vae: VAE, images: np.ndarray, labels: np.ndarray | None) -> str:
    """What the codes depend on: the weights (names and values), the images and the labels."""
    parts = []
    for name, value in sorted(vae.weights().items()):
        parts += [name, np.asarray(value, dtype=np.float32)]
    parts.append(np.asarray(images, dtype=np.float32))
    if labels is not None:
        parts.append(np.asarray(labels, dtype=np.int64))
    return digest(*parts)


def shipped_codes_path(checkpoint_dir: Path, split: str = "test") -> Path:
    return Path(checkpoint_dir) / f"codes-{split}.npz"


def encoded_codes(
    vae: VAE,
    images: np.ndarray,
    labels: np.ndarray | None,
    *,
    beside: Path | None = None,
    cache_dir: Path | None = None,
) -> Codes:
    """q(z|x) of `images` (N, 1, 28, 28): from the file `beside` a checkpoint, else the cache, else encoded
    now and cached (a cache that cannot be written only costs the next visit an encode)."""
    key = codes_key(vae, images, labels)
    shape = (len(images), vae.latent_dim)
    cache = NpzCache(Path(cache_dir or settings().cache_dir / "codes"), "codes", _KEEP_FILES, compress=True)
    for path in ([beside] if beside is not None else []) + [cache.path(key)]:
        found = _checked(read_npz(path, key), shape)
        if found is not None:
            return found
    mu, sd = vae.encode(images, labels)
    codes = Codes(mu, sd)
    cache.store(key, {"mu": codes.mu, "sd": codes.sd}, what="the encoded digits")
    return codes


def write_codes(path: Path, vae: VAE, images: np.ndarray, labels: np.ndarray | None) -> Codes:
    """Encode and store the codes at `path` (for a model that ships its codes beside its weights)."""
    mu, sd = vae.encode(images, labels)
    codes = Codes(mu, sd)
    write_npz(Path(path), codes_key(vae, images, labels), {"mu": codes.mu, "sd": codes.sd}, compress=True)
    return codes


def _checked(stored: dict | None, shape: tuple[int, int]) -> Codes | None:
    """The stored codes, or None when absent, unreadable, of other weights or data, or not finite."""
    try:
        mu, sd = stored["mu"].astype(np.float32), stored["sd"].astype(np.float32)
    except (TypeError, KeyError, ValueError):  # no file, or not two numeric arrays
        return None
    if mu.shape != shape or sd.shape != shape:
        return None
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sd)) and np.all(sd > 0)):
        return None
    return Codes(mu, sd)
