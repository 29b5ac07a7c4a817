"""The key -> .npz disk cache under the stored codes and the UMAPs: keys, misses, atomic writes, pruning."""

import hashlib
import os
import threading
import warnings

import numpy as np
import pytest

from cvae.explore.disk_cache import NpzCache, digest, prune, read_npz, write_npz


def _arrays(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"mu": rng.normal(size=(50, 4)).astype(np.float32), "ids": np.full(7, seed, np.int64)}


def _same(found: dict | None, expected: dict) -> bool:
    if found is None or found.keys() != expected.keys():
        return False
    return all(np.array_equal(found[k], expected[k]) for k in expected)


def test_digest_is_the_sha256_of_the_parts_in_order():
    codes = np.arange(6, dtype=np.float32).reshape(3, 2)
    expected = hashlib.sha256(b"weights" + codes.tobytes() + b"\x01").hexdigest()
    assert digest("weights", codes, b"\x01") == expected
    assert digest("weights", codes.T) != expected  # the values' order is part of the key
    assert digest(codes[:, ::-1].copy()[:, ::-1]) == digest(codes)  # any memory layout: the same bytes


def test_a_stored_entry_reads_back_and_another_key_misses(tmp_path):
    cache = NpzCache(tmp_path, "codes")
    key, arrays = digest("a"), _arrays(1)
    assert cache.load(key) is None  # no file yet
    cache.store(key, arrays, what="the test arrays")
    assert cache.path(key).name == f"codes-{key[:32]}.npz"
    assert _same(cache.load(key), arrays)
    forged = key[:32] + digest("b")[32:]  # the same file name, another full key: a miss
    assert cache.path(forged) == cache.path(key) and cache.load(forged) is None
    with np.load(cache.path(key), allow_pickle=False) as stored:  # plain arrays and the full key
        assert set(stored.files) == {"key", "mu", "ids"} and str(stored["key"]) == key


def test_compressed_entries_read_back(tmp_path):
    cache = NpzCache(tmp_path, "codes", compress=True)
    cache.store("k" * 64, _arrays(2), what="the test arrays")
    assert _same(cache.load("k" * 64), _arrays(2))


@pytest.mark.parametrize("compress", [False, True])
def test_a_corrupt_or_truncated_file_is_a_miss_never_an_error_or_wrong_data(tmp_path, compress):
    path, key, arrays = tmp_path / "entry.npz", "k" * 64, _arrays(3)
    write_npz(path, key, arrays, compress=compress)
    good = path.read_bytes()
    damaged = [b"", b"not a zip file", b"PK\x03\x04 not really a zip", good[: len(good) // 2], good[:-10]]
    rng = np.random.default_rng(0)
    for at in rng.integers(0, len(good), 60):  # one byte flipped anywhere: header, data, directory
        flipped = bytearray(good)
        flipped[at] ^= 0xFF
        damaged.append(bytes(flipped))
    for data in damaged:
        path.write_bytes(data)
        found = read_npz(path, key)
        assert found is None or _same(found, arrays), len(data)
    assert read_npz(tmp_path / "missing.npz", key) is None


def test_a_pickled_or_keyless_file_is_a_miss(tmp_path):
    path = tmp_path / "entry.npz"
    np.savez(path, key=np.array("k" * 64), mu=np.array([{"a": 1}], dtype=object))  # needs pickle to read
    assert read_npz(path, "k" * 64) is None
    np.savez(path, mu=np.zeros(3))  # no key at all
    assert read_npz(path, "k" * 64) is None


def test_concurrent_writers_of_one_key_leave_a_whole_file_and_readers_never_see_half(tmp_path):
    """Writers race on one key (each with its own arrays) while a reader keeps reading: every read is
    a miss (nothing written yet) or one writer's arrays whole, never a mix or a torn file."""
    cache, key = NpzCache(tmp_path, "umap", keep=4), "k" * 64
    expected = {seed: _arrays(seed) for seed in range(8)}
    stop, seen, errors = threading.Event(), [], []

    def write(seed: int) -> None:
        try:
            for _ in range(10):
                cache.store(key, expected[seed], what="the test arrays")
        except Exception as err:  # reported below: a thread's exception is lost otherwise
            errors.append(err)

    def read() -> None:
        while not stop.is_set():
            found = cache.load(key)
            seen.append(None if found is None else int(found["ids"][0]))
            if found is not None and not _same(found, expected[int(found["ids"][0])]):
                errors.append(AssertionError("a read mixed two writers' arrays"))

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(seed,)) for seed in expected]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a write or prune that failed would warn
        reader.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        stop.set()
        reader.join()
    assert not errors, errors
    assert any(s is not None for s in seen)
    final = cache.load(key)
    assert final is not None and _same(final, expected[int(final["ids"][0])])
    assert [p.name for p in tmp_path.iterdir()] == [cache.path(key).name]  # no temporary file left behind


def test_pruning_keeps_the_newest_files_of_its_own_prefix(tmp_path):
    cache = NpzCache(tmp_path, "codes", keep=3)
    other = tmp_path / "umap-old.npz"
    other.write_bytes(b"another cache's file")
    os.utime(other, (1, 1))
    keys = [digest(str(i)) for i in range(6)]
    for age, key in enumerate(keys):
        cache.store(key, _arrays(age), what="the test arrays")
        os.utime(cache.path(key), (1000 + age, 1000 + age))  # mtime order = write order, whatever the clock
    prune(tmp_path, "codes-*.npz", 3)
    assert sorted(p.name for p in tmp_path.glob("codes-*.npz")) == sorted(cache.path(k).name for k in keys[3:])
    assert other.exists()  # only its own prefix is pruned
    cache.store(keys[0], _arrays(0), what="the test arrays")  # written again: now the newest
    assert cache.load(keys[0]) is not None and len(list(tmp_path.glob("codes-*.npz"))) == 3


def test_pruning_skips_files_another_process_removed(tmp_path, monkeypatch):
    for i in range(4):
        (tmp_path / f"codes-{i}.npz").write_bytes(b"x")
    real_stat = type(tmp_path).stat

    def vanishing(self, *args, **kwargs):
        if self.name == "codes-1.npz":  # removed between the listing and the stat
            raise FileNotFoundError(self)
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "stat", vanishing)
    prune(tmp_path, "codes-*.npz", 1)
    monkeypatch.undo()
    assert len(list(tmp_path.glob("codes-*.npz"))) == 2  # the vanished one is left to its remover


def test_a_cache_that_cannot_be_written_warns_and_goes_on(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    cache = NpzCache(blocked / "codes", "codes")
    with pytest.warns(RuntimeWarning, match="could not cache the test arrays in"):
        cache.store("k" * 64, _arrays(0), what="the test arrays")
    assert cache.load("k" * 64) is None
    with pytest.raises(OSError):  # the plain writer raises: write_codes wants to know
        write_npz(blocked / "codes" / "x.npz", "k" * 64, _arrays(0))
