"""CVAE Explorer's model package: a convolutional VAE as a PyMC model, fitted by amortized ADVI.

The subpackages follow the data: data -> nn -> model -> training -> store -> explore, jobs -> viz
(the Streamlit app in app.py, navigation.py, app_pages/ and ui/ sits on top and is not part of the package).
The names below load their module on first use, so `import cvae` itself is instant.
"""

from __future__ import annotations

import importlib

_PUBLIC = {  # name -> module that defines it
    "TrainConfig": "cvae.config",
    "ConfigError": "cvae.config",
    "DATASET_NAMES": "cvae.data.datasets",
    "Dataset": "cvae.data.datasets",
    "DatasetError": "cvae.data.datasets",
    "load_dataset": "cvae.data.datasets",
    "load_split": "cvae.data.datasets",
    "VAE": "cvae.model.vae",
    "History": "cvae.training.history",
    "Checkpoint": "cvae.store.checkpoint",
    "CheckpointError": "cvae.store.checkpoint",
    "load_checkpoint": "cvae.store.checkpoint",
    "run_dir": "cvae.store.checkpoint",
    "save_checkpoint": "cvae.store.checkpoint",
    "Explorer": "cvae.explore.explorer",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'cvae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
