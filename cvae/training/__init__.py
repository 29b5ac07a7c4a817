"""Fitting the model: the PyMC fit with its callbacks, the training curve, snapshots for replay,
and the compile-cache warm-up. Only `cvae.training.trainer` (and what imports it) loads PyMC."""

import cvae.nn  # noqa: F401 - before PyMC: its import of PyTensor then stays quiet about BLAS (see cvae.nn)
