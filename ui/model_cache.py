"""Server-wide caches of saved models: checkpoint, encoded test split, explorer and .zip bundle.

Shared by every session and never mutated. Every cache of something made from a saved model (here,
and the latent map's projections, payloads and panels in ui.latent) is keyed by `model_key(path)`:
the folder and its weights' modification time, so a re-saved run gets fresh entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

import cvae
from cvae.explore.code_cache import encoded_codes, shipped_codes_path
from cvae.explore.evaluation import kl_per_image
from cvae.store.bundle import export_bundle

__all__ = ["EncodedSet", "bundle_for", "encoded_for", "explorer_for", "model_for", "model_key"]


@dataclass(frozen=True)
class EncodedSet:
    """A model's test split, encoded once: read-only arrays shared by all sessions."""

    images: np.ndarray  # (N, 1, 28, 28)
    labels: np.ndarray  # (N,)
    mu: np.ndarray  # (N, latent)
    sd: np.ndarray  # (N, latent)
    kl: np.ndarray  # (N,) KL(q(z|x) || p(z)) in nats
    class_names: tuple[str, ...]


def model_key(path: Path) -> tuple[str, float]:
    """(folder, modification time of its weights): what a cache of anything made from the model at
    `path` is keyed by. A folder without weights raises CheckpointError, as loading it would."""
    try:
        return str(path), (Path(path) / "params.npz").stat().st_mtime
    except OSError as err:
        raise cvae.CheckpointError(f"no model at {path}: {err.strerror}") from err


def model_for(path: Path) -> cvae.Checkpoint:
    """Any saved run's checkpoint, loaded once per saved version."""
    return _load(*model_key(path))


def encoded_for(path: Path) -> EncodedSet:
    """Any saved run's encoded test split."""
    return _encode(*model_key(path))


def explorer_for(path: Path) -> cvae.Explorer:
    """Any saved run's explorer (its NumPy decoder built once), shared like its checkpoint."""
    return _explorer(*model_key(path))


def bundle_for(path: Path) -> bytes:
    """Any saved run as the bytes of a .zip bundle, built once per saved version."""
    return _bundle(*model_key(path))


@st.cache_resource(max_entries=8, show_spinner="Loading model...")
def _load(path: str, stamp: float) -> cvae.Checkpoint:
    return cvae.load_checkpoint(Path(path))


@st.cache_resource(max_entries=8, show_spinner="Encoding the test digits...")
def _encode(path: str, stamp: float) -> EncodedSet:
    checkpoint = _load(path, stamp)
    data = cvae.load_split(checkpoint.config, "test")
    # a conditional VAE needs each digit's label; stored codes spare a fresh server the encoder's compile
    codes = encoded_codes(checkpoint.vae, data.images, data.labels, beside=shipped_codes_path(Path(path)))
    mu, sd = codes.mu, codes.sd
    kl = kl_per_image(mu, sd, checkpoint.vae)  # Monte Carlo for the mixture prior
    for array in (mu, sd, kl):
        array.setflags(write=False)
    return EncodedSet(data.images, data.labels, mu, sd, kl, data.class_names)


@st.cache_resource(max_entries=8, show_spinner=False)
def _explorer(path: str, stamp: float) -> cvae.Explorer:
    return cvae.Explorer(_load(path, stamp).vae)


@st.cache_data(max_entries=4, show_spinner=False)
def _bundle(path: str, stamp: float) -> bytes:
    return export_bundle(Path(path))
