"""Latent analysis, NumPy in and NumPy out (never Dask): the Explorer's decoder API, evaluation,
latent statistics, run comparisons, stored codes and the 2-D projections of a latent space."""
