"""UMAP of the encoded codes, decodable through its approximate inverse, cached on disk per set of codes.

The fit uses exact nearest neighbours (scikit-learn) instead of pynndescent, whose numba code
cannot be cached and costs ~20 s to compile in every new process. The inverse is umap-learn's
`inverse_transform`, evaluated once on a grid (a `GridLift`); `_inverse_on` repeats its steps
with the Delaunay adjacency built in one go rather than one sparse entry at a time (25-35 s -> under 1 s
for 10,000 codes) and starts points outside the digits' hull from their nearest digit (umap-learn
would use an arbitrary triangle). tests/unit/test_umap_projection.py checks it against `inverse_transform`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from cvae.explore.disk_cache import NpzCache, digest
from cvae.explore.projections import Projection
from cvae.explore.projections.lifts import GridLift, NeighbourPlacement, ProjectionError, check_codes, grid_nodes

__all__ = ["MIN_CODES", "UmapOptions", "cache_key", "default_cache_dir", "umap_projection", "warm_umap"]

MIN_CODES = 50
CACHE_FORMAT = "umap-projection/1"
_KEEP_FILES = 32  # newest cache files kept on disk; about 1 MB each for 10,000 latent-16 codes
_MEMORY: OrderedDict[str, Projection] = OrderedDict()  # the last few, so a rerun skips the disk
_MEMORY_SIZE = 8
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()
_MEMORY_LOCK = threading.Lock()

Progress = Callable[[str, float], None]  # (stage, fraction done in [0, 1])


@dataclass(frozen=True)
class UmapOptions:
    n_neighbors: int = 15
    min_dist: float = 0.1
    n_epochs: int = 200  # umap-learn's own choice above 10,000 points; it would take 500 at exactly 10,000
    grid_size: int = 32  # the GridLift's nodes per side: 32 x 32 inverse_transform points
    seed: int = 0  # a seeded UMAP runs on one thread and gives the same map every time

    def check(self, n_codes: int) -> None:
        if not isinstance(self.n_neighbors, int) or not 2 <= self.n_neighbors < n_codes:
            raise ProjectionError(f"n_neighbors must be an integer in 2..{n_codes - 1}; got {self.n_neighbors!r}")
        if not 0.0 <= self.min_dist <= 1.0:
            raise ProjectionError(f"min_dist must be in [0, 1]; got {self.min_dist!r}")
        if not isinstance(self.n_epochs, int) or not 10 <= self.n_epochs <= 2000:
            raise ProjectionError(f"n_epochs must be an integer in 10..2000; got {self.n_epochs!r}")
        if not isinstance(self.grid_size, int) or not 2 <= self.grid_size <= 128:
            raise ProjectionError(f"grid_size must be an integer in 2..128; got {self.grid_size!r}")


def default_cache_dir() -> Path:
    """Where the server keeps its UMAPs: `$CVAE_CACHE_DIR/projections`."""
    from cvae.settings import settings

    return settings().cache_dir / "projections"


def cache_key(codes: np.ndarray, options: UmapOptions) -> str:
    """Hex digest of the codes (so of the model's weights and the data), the options and umap's version."""
    codes = np.ascontiguousarray(codes, dtype="<f4")
    version = metadata.version("umap-learn")  # not umap.__version__: a cache hit should not import numba
    return digest(json.dumps([CACHE_FORMAT, version, asdict(options), codes.shape]), codes)[:32]


def umap_projection(
    codes,
    *,
    options: UmapOptions | None = None,
    cache_dir: Path | None = None,
    persist: bool = True,
    on_progress: Progress | None = None,
) -> Projection:
    """UMAP of `codes` (N, latent), N >= MIN_CODES, with a GridLift through its inverse.

    Computed once per set of codes: later calls (any session, any process) read the .npz that the
    first wrote atomically under `cache_dir` (default `default_cache_dir()`), unless `persist` is False.
    """
    codes = check_codes(codes, min_codes=MIN_CODES, name="codes for UMAP").astype(np.float32)
    options = options or UmapOptions()
    options.check(len(codes))
    report = on_progress or (lambda stage, fraction: None)
    key = cache_key(codes, options)
    with _lock_for(key):  # one computation per set of codes at a time; other keys go on in parallel
        with _MEMORY_LOCK:
            if key in _MEMORY:
                _MEMORY.move_to_end(key)
                report("done", 1.0)
                return _MEMORY[key]
        cache = NpzCache(Path(cache_dir or default_cache_dir()), "umap", _KEEP_FILES)
        stored = _checked(cache.load(key), codes.shape, options.grid_size) if persist else None
        if stored is None:
            stored = _compute(codes, options, report)
            if persist:
                ranges = np.array(stored[2:], float)  # (2, 2): x_range, y_range
                cache.store(key, {"coords": stored[0], "grid": stored[1], "ranges": ranges}, what="the UMAP")
        coords, grid, x_range, y_range = stored
        projection = _projection(codes, coords, GridLift(x_range, y_range, grid), options)
        with _MEMORY_LOCK:
            _MEMORY[key] = projection
            while len(_MEMORY) > _MEMORY_SIZE:
                _MEMORY.popitem(last=False)
        report("done", 1.0)
        return projection


def _projection(codes, coords, lift: GridLift, options: UmapOptions) -> Projection:
    note = (
        f"UMAP's inverse is approximate: a map point decodes through umap-learn's inverse_transform, computed "
        f"on a {options.grid_size} x {options.grid_size} grid and interpolated; least reliable far from the digits."
    )
    for array in (codes, coords, lift.codes):  # shared by every session that shows this map
        array.setflags(write=False)
    return Projection(
        "umap",
        "UMAP of the encoded means",
        coords,
        ("UMAP 1", "UMAP 2"),
        lift,
        note,
        NeighbourPlacement(codes.astype(np.float64), coords.astype(np.float64)),
    )


def _compute(codes: np.ndarray, options: UmapOptions, report: Progress):
    """(coords (N, 2), grid codes (G, G, latent), x_range, y_range), all float32 / float."""
    from sklearn.neighbors import NearestNeighbors

    umap = _umap()
    from cvae.explore.projections.umap_inverse import inverse_transform  # after _umap(): it imports umap's numba code

    report("nearest neighbours", 0.0)
    distances, indices = NearestNeighbors(n_neighbors=options.n_neighbors).fit(codes).kneighbors(codes)
    report("layout", 0.05)
    reducer = umap.UMAP(
        n_neighbors=options.n_neighbors,
        min_dist=options.min_dist,
        n_epochs=options.n_epochs,
        random_state=options.seed,
        precomputed_knn=(indices, distances.astype(np.float32)),
    )
    with warnings.catch_warnings():
        # "no NNDescent index: transform unavailable" (we place new codes ourselves) and
        # "n_jobs overridden by setting random_state" (wanted: a repeatable map)
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        coords = reducer.fit_transform(codes).astype(np.float32)
    if not np.all(np.isfinite(coords)):
        raise ProjectionError("UMAP produced non-finite positions for these codes")
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = np.maximum((hi - lo) * 0.05, 1e-3)
    x_range, y_range = (float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1]))
    report("inverse on the grid", 0.7)
    nodes = grid_nodes(x_range, y_range, options.grid_size)
    grid = inverse_transform(reducer, nodes).reshape(options.grid_size, options.grid_size, -1)
    return coords, grid.astype(np.float32), x_range, y_range


def _checked(stored: dict | None, shape: tuple[int, int], grid_size: int):
    """The cached result, or None when absent, unreadable or not for these codes (then it is recomputed)."""
    try:
        coords, grid = stored["coords"].astype(np.float32), stored["grid"].astype(np.float32)
        ranges = stored["ranges"].astype(float)
    except (TypeError, KeyError, ValueError):  # no file, or not the three numeric arrays
        return None
    expected = (grid_size, grid_size, shape[1])
    if coords.shape != (shape[0], 2) or grid.shape != expected or ranges.shape != (2, 2):
        return None
    if not (np.all(np.isfinite(coords)) and np.all(np.isfinite(grid)) and np.all(ranges[:, 1] > ranges[:, 0])):
        return None
    return coords, grid, tuple(ranges[0]), tuple(ranges[1])


def _lock_for(key: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(key, threading.Lock())


_UMAP_READY = threading.Lock()


def _umap():
    """umap-learn, with numba's on-disk cache switched on for its jitted functions.

    umap-learn compiles most of its functions without `cache=True`, so each new process spent
    tens of seconds compiling them again; `enable_caching` (numba's own switch behind `cache=True`)
    lets `python -m cvae warm` (see `warm_umap`) compile them once for every later process.
    """
    with _UMAP_READY:
        import umap  # imports numba and llvmlite: ~2-4 s, only when a UMAP is asked for
        from numba.core.dispatcher import Dispatcher

        for name, module in list(sys.modules.items()):
            if not name.startswith("umap") or module is None:
                continue
            for value in list(vars(module).values()):
                if isinstance(value, Dispatcher) and type(value._cache).__name__ == "NullCache":
                    value.enable_caching()
        return umap


def warm_umap(latent_dim: int = 8) -> float:
    """Compile (and cache on disk) every numba function a UMAP projection uses; seconds taken."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (5, latent_dim))
    codes = centres[rng.integers(0, 5, 300)] + rng.normal(0, 0.5, (300, latent_dim))
    umap_projection(codes, options=UmapOptions(grid_size=4, n_epochs=20), persist=False)
    return time.perf_counter() - start
