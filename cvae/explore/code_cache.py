"""A model's encoded split, kept on disk: the Latent page of a fresh server reads it instead of compiling.

Encoding the test split needs the encoder compiled, which on a fresh server process costs seconds
(PyTensor reads its whole compile cache first). The codes of a model and split never change, so they
are stored once as a plain .npz (no pickle), keyed by a hash of the weights, the images and the
labels: new weights or other data miss the key and are encoded again. The shipped model ships its
file beside its weights (`codes-test.npz`, made by `write_codes`).
"""

from __future__ import annotations

import hashlib
import io
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvae.atomic import keep_newest, write_atomic
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
    digest = hashlib.sha256()
    for name, value in sorted(vae.weights().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(value, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(images, dtype=np.float32).tobytes())
    if labels is not None:
        digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


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
    directory = Path(cache_dir or settings().cache_dir / "codes")
    for path in ([beside] if beside is not None else []) + [directory / f"codes-{key[:32]}.npz"]:
        found = _read(path, key, shape)
        if found is not None:
            return found
    mu, sd = vae.encode(images, labels)
    codes = Codes(mu, sd)
    try:
        _write(directory / f"codes-{key[:32]}.npz", key, codes)
        keep_newest(directory, "codes-*.npz", _KEEP_FILES)
    except OSError as err:
        warnings.warn(f"could not cache the encoded digits in {directory}: {err}", RuntimeWarning, stacklevel=2)
    return codes


def write_codes(path: Path, vae: VAE, images: np.ndarray, labels: np.ndarray | None) -> Codes:
    """Encode and store the codes at `path` (for a model that ships its codes beside its weights)."""
    mu, sd = vae.encode(images, labels)
    codes = Codes(mu, sd)
    _write(Path(path), codes_key(vae, images, labels), codes)
    return codes


def _read(path: Path, key: str, shape: tuple[int, int]) -> Codes | None:
    """The stored codes, or None when absent, unreadable, of other weights or data, or not finite."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            same = str(stored["key"]) == key
            mu, sd = stored["mu"].astype(np.float32), stored["sd"].astype(np.float32)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if not same or mu.shape != shape or sd.shape != shape:
        return None
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sd)) and np.all(sd > 0)):
        return None
    return Codes(mu, sd)


def _write(path: Path, key: str, codes: Codes) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, key=np.array(key), mu=codes.mu, sd=codes.sd)
    write_atomic(path, buffer.getvalue())
