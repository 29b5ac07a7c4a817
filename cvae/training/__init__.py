"""Fitting the model: the PyMC fit with its callbacks, the training curve, snapshots for replay,
and the compile-cache warm-up. Only `cvae.training.trainer` (and what imports it) loads PyMC."""

import cvae.nn  # noqa: F401 - the runtime set-up (cvae.runtime: floatX, the C linker, malloc) before PyMC builds a graph
