"""umap-learn 0.5's `inverse_transform` for a Euclidean UMAP, fast enough to run once on a whole grid.

Two steps of umap-learn's own cost most of its time and are done differently here, with the same
result (tests/unit/test_umap_projection.py compares them): the Delaunay adjacency is built as one sparse
matrix instead of one `lil_matrix` entry at a time (25-35 s -> under 1 s for 10,000 codes), and
the layout epochs run in one loop jitted once per process instead of a function jitted anew inside
every call (about 1 s of CPU each; numba cannot cache either on disk, as the distance function
is passed as a value). Map points outside the digits' hull start from their nearest digit's
triangle; umap-learn would take an arbitrary one (`find_simplex` returns -1 there).
Import this module only after `cvae.explore.projections.umap._umap()`, which turns numba's cache on.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse
import scipy.spatial
from sklearn.preprocessing import normalize
from sklearn.utils import check_random_state
from umap.distances import euclidean, euclidean_grad
from umap.layouts import _optimize_layout_inverse_single_epoch
from umap.umap_ import INT32_MAX, INT32_MIN, breadth_first_search, init_transform, make_epochs_per_sample

__all__ = ["inverse_transform"]

_epoch = numba.njit(_optimize_layout_inverse_single_epoch, fastmath=True)


@numba.njit(fastmath=True)
def _inverse_layout(
    out,
    raw,
    head,
    tail,
    weight,
    sigmas,
    rhos,
    epochs_per_sample,
    n_epochs,
    n_vertices,
    alpha0,
    negative_rate,
    gamma,
    rng,
):
    """umap.layouts.optimize_layout_inverse with the Euclidean gradient bound in: out (M, latent) in place."""
    next_sample = epochs_per_sample.copy()
    per_negative = epochs_per_sample / negative_rate
    next_negative = per_negative.copy()
    alpha = alpha0
    for n in range(n_epochs):
        _epoch(
            epochs_per_sample,
            next_sample,
            head,
            tail,
            out,
            raw,
            euclidean_grad,
            (),
            weight,
            sigmas,
            out.shape[1],
            alpha,
            False,
            n,
            next_negative,
            per_negative,
            rng,
            n_vertices,
            rhos,
            gamma,
        )
        alpha = alpha0 * (1.0 - n / n_epochs)
    return out


def inverse_transform(reducer, points: np.ndarray) -> np.ndarray:
    """Latent codes (M, latent) for map points (M, 2) of a fitted Euclidean `umap.UMAP`."""
    if reducer.metric != "euclidean" or reducer.output_metric != "euclidean" or reducer._metric_kwds:
        raise ValueError("this inverse is written for a plain Euclidean UMAP")
    x = np.ascontiguousarray(points, dtype=np.float32)
    rng_state = check_random_state(reducer.transform_seed).randint(INT32_MIN, INT32_MAX, 3).astype(np.int64)
    embedding, raw = reducer.embedding_, reducer._raw_data
    n = len(embedding)
    triangulation = scipy.spatial.Delaunay(embedding, incremental=True, qhull_options="QJ")
    simplex = triangulation.find_simplex(x)
    outside = simplex < 0
    if outside.any():
        nearest = scipy.spatial.cKDTree(embedding).query(x[outside])[1]
        simplex[outside] = triangulation.vertex_to_simplex[nearest]
    starts = triangulation.simplices[simplex][:, 0]
    corners = triangulation.simplices  # (S, 3): every pair of a triangle's corners (self-pairs too) is an edge
    rows, cols = np.repeat(corners, 3, axis=1).ravel(), np.tile(corners, (1, 3)).ravel()
    adjacency = scipy.sparse.csr_matrix((np.ones(len(rows), dtype=int), (rows, cols)), shape=(n, n))
    adjacency.sum_duplicates()
    adjacency.data[:] = 1
    k = min(raw.shape[-1], raw.shape[0])  # umap-learn's min_vertices: neighbours per point
    indices, distances = np.empty((len(x), k), int), np.empty((len(x), k))
    for i, start in enumerate(starts):
        hood = breadth_first_search(adjacency, start, min_vertices=k)
        d = np.array([euclidean(x[i], embedding[v]) for v in hood])
        order = np.argsort(d)[:k]
        indices[i], distances[i] = hood[order], d[order]
    weights = 1 / (1 + reducer._a * distances.ravel() ** (2 * reducer._b))
    graph = scipy.sparse.coo_matrix((weights, (np.repeat(np.arange(len(x)), k), indices.ravel())), (len(x), n))
    normalised = normalize(graph.tocsr(), norm="l1")
    start = init_transform(normalised.indices.reshape(len(x), k), normalised.data.reshape(len(x), k), raw)
    n_epochs = (100 if len(x) <= 10000 else 30) if reducer.n_epochs is None else int(reducer.n_epochs // 3.0)
    return _inverse_layout(
        start,
        raw,
        graph.row,
        graph.col,
        graph.data,
        reducer._sigmas,
        reducer._rhos,
        make_epochs_per_sample(graph.data, n_epochs),
        n_epochs,
        graph.shape[1],
        reducer._initial_alpha / 4.0,
        reducer.negative_sample_rate,
        reducer.repulsion_strength,
        rng_state,
    )
