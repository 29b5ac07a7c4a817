"""UMAP of real encoded codes: the fit, its inverse on a grid (checked against umap-learn's own), the cache."""

import warnings

import numpy as np
import pytest

from cvae.explore.projections import GridLift, ProjectionError, make_projection
from cvae.explore.projections import umap as up

OPTIONS = up.UmapOptions(n_epochs=60, grid_size=8)


@pytest.fixture(scope="module")
def codes(trained, mnist5k):
    """400 test digits encoded by the suite's real short fit."""
    return trained.vae.encode(mnist5k[1].images[:400])[0]


@pytest.fixture(scope="module")
def projection(codes, tmp_path_factory):
    return up.umap_projection(codes, options=OPTIONS, cache_dir=tmp_path_factory.mktemp("umap-cache"))


def test_umap_fit_and_inverse_on_real_codes(codes, projection):
    assert projection.kind == "umap" and not projection.linear
    assert projection.coords.shape == (400, 2) and np.all(np.isfinite(projection.coords))
    assert isinstance(projection.lift, GridLift) and projection.lift.codes.shape == (8, 8, codes.shape[1])
    assert "approximate" in projection.note
    # the inverse lands near the codes whose positions it is asked about: much nearer than a random code
    lifted = projection.to_latent(projection.coords)
    own = np.linalg.norm(lifted - codes, axis=1).mean()
    other = np.linalg.norm(lifted - np.random.default_rng(0).permutation(codes), axis=1).mean()
    assert own < 0.6 * other, (own, other)
    assert np.allclose(projection.to_map(codes[:10]), projection.coords[:10], atol=1e-2)  # placed where fitted


def test_inverse_equals_umap_learns_inverse_transform(codes):
    umap = up._umap()
    from sklearn.neighbors import NearestNeighbors

    from cvae.explore.projections.umap_inverse import inverse_transform

    small = codes[:300]
    distances, indices = NearestNeighbors(n_neighbors=15).fit(small).kneighbors(small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(random_state=0, n_epochs=60, precomputed_knn=(indices, distances.astype(np.float32)))
        reducer.fit(small)
    inside = 0.7 * reducer.embedding_[:25] + 0.3 * reducer.embedding_[25:50]  # within the digits' hull
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reducer.inverse_transform(inside)
    # the same float32 epochs, jitted with fastmath inside our loop rather than alone: LLVM orders (and fuses)
    # their sums by what the CPU offers: measured 2.0e-5 apart at most on an AVX2 host (within 1e-5 with AVX-512);
    # another random start (transform_seed 1) lands up to 0.48 away
    assert np.allclose(inverse_transform(reducer, inside), expected, atol=1e-4)
    far = np.array([[1e3, 1e3], [-1e3, 0.0]])  # umap-learn would start these from an arbitrary triangle
    assert np.all(np.isfinite(inverse_transform(reducer, far)))


def test_computed_once_then_read_from_the_cache(codes, tmp_path, monkeypatch):
    up._MEMORY.clear()
    first = up.umap_projection(codes, options=OPTIONS, cache_dir=tmp_path)
    (path,) = tmp_path.glob("umap-*.npz")
    with np.load(path, allow_pickle=False) as stored:  # plain arrays, no pickle
        assert set(stored.files) == {"key", "coords", "grid", "ranges"}
    up._MEMORY.clear()  # as a new server process would start

    def refuse(*args):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(up, "_compute", refuse)
    second = up.umap_projection(codes, options=OPTIONS, cache_dir=tmp_path)
    assert np.array_equal(first.coords, second.coords) and np.array_equal(first.lift.codes, second.lift.codes)


def test_a_corrupt_or_foreign_cache_file_is_recomputed(codes, tmp_path):
    key = up.cache_key(codes.astype(np.float32), OPTIONS)
    target = tmp_path / f"umap-{key}.npz"
    target.write_bytes(b"PK\x03\x04 not really a zip")
    up._MEMORY.clear()
    projection = up.umap_projection(codes, options=OPTIONS, cache_dir=tmp_path)
    assert projection.coords.shape == (400, 2)
    with np.load(target, allow_pickle=False) as stored:
        assert str(stored["key"]) == key
    assert up.cache_key(codes[::-1].astype(np.float32), OPTIONS) != key  # other codes, other entry


def test_progress_is_reported(codes):
    stages = []
    up.umap_projection(codes[:120], options=OPTIONS, persist=False, on_progress=lambda s, f: stages.append(s))
    assert stages[0] == "nearest neighbours" and stages[-1] == "done"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 49}, "at least 50"),
        ({"options": up.UmapOptions(n_neighbors=1)}, "n_neighbors"),
        ({"options": up.UmapOptions(n_neighbors=80), "n": 60}, "n_neighbors"),
        ({"options": up.UmapOptions(grid_size=1)}, "grid_size"),
        ({"options": up.UmapOptions(n_epochs=5)}, "n_epochs"),
        ({"options": up.UmapOptions(min_dist=2.0)}, "min_dist"),
    ],
)
def test_bad_umap_requests_get_a_clear_error(codes, kwargs, message):
    n = kwargs.pop("n", 100)
    with pytest.raises(ProjectionError, match=message):
        make_projection("umap", codes[:n], persist=False, **kwargs)
