"""Tests for cvae.idx."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvae.data.idx import IdxError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path: Path, suffix: str, dtype: type) -> None:
    rng = np.random.default_rng(0)
    array: np.ndarray = (rng.random((5, 4, 3)) * 100).astype(dtype)
    path = tmp_path / f"data-idx3{suffix}"
    write_idx(path, array)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, array)


def test_mnist_like_images_and_labels(tmp_path: Path) -> None:
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    write_idx(tmp_path / "images.gz", images)
    write_idx(tmp_path / "labels", labels)
    assert (tmp_path / "images.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "labels").read_bytes()[:8] == bytes.fromhex("0000080100000003")
    np.testing.assert_array_equal(read_idx(tmp_path / "images.gz"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), labels)


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    (tmp_path / "plain-name").write_bytes((tmp_path / "a.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), array)


def test_empty_dimension(tmp_path: Path) -> None:
    write_idx(tmp_path / "e", np.zeros((0, 28, 28), dtype=np.uint8))
    assert read_idx(tmp_path / "e").shape == (0, 28, 28)


def _valid_bytes() -> bytes:
    return bytes.fromhex("000008020000000300000002") + bytes(range(6))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x01\x02\x08\x01" + bytes(8), "bad magic"),
        (bytes.fromhex("000007010000000100"), "unsupported data type code 0x07"),
        (bytes.fromhex("00000800"), "0 dimensions"),
        (bytes.fromhex("0000080300000001"), "truncated header"),
        (_valid_bytes()[:-1], "truncated payload"),
        (_valid_bytes() + b"\x00", "oversized payload"),
        (bytes.fromhex("000008030000000300000002"), "truncated header"),
        (bytes.fromhex("000008020000000400000002") + bytes(6), "need 8 bytes, found 6"),
        (b"this is not an idx file at all", "bad magic"),
        (b"\x1f\x8bgarbage that is not deflate", "corrupt gzip"),
    ],
)
def test_invalid_files_raise_idx_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(data)
    with pytest.raises(IdxError) as info:
        read_idx(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_valid_helper_bytes_are_valid(tmp_path: Path) -> None:
    (tmp_path / "ok").write_bytes(_valid_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "ok"), np.arange(6).reshape(3, 2))


def test_wrong_dims_declared(tmp_path: Path) -> None:
    path = tmp_path / "images"
    write_idx(path, np.zeros((2, 28, 28), dtype=np.uint8))
    data = bytearray(path.read_bytes())
    data[4:8] = (3).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    with pytest.raises(IdxError, match=r"truncated payload.*\(3, 28, 28\)"):
        read_idx(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 255, (20, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(IdxError, match="corrupt gzip"):
        read_idx(path)


def test_gzip_of_truncated_idx(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(_valid_bytes()[:-2]))
    with pytest.raises(IdxError, match="truncated payload"):
        read_idx(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IdxError, match="cannot read"):
        read_idx(tmp_path / "nope")


def test_write_rejects_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(IdxError, match="complex"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.complex64))


_header = st.builds(
    lambda code, dims: bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims),
    st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]),
    st.lists(st.integers(0, 6), max_size=4),
)
_payloads = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda h, p: h + p, _header, st.binary(max_size=300)),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=_payloads, compress=st.booleans(), cut=st.integers(0, 40))
def test_random_bytes_array_or_idx_error(tmp_path: Path, data: bytes, compress: bool, cut: int) -> None:
    if compress:
        data = gzip.compress(data)
        data = data[: len(data) - cut] if cut < 10 else data
    path = tmp_path / "fuzz"
    path.write_bytes(data)
    try:
        result = read_idx(path)
    except IdxError:
        return
    assert isinstance(result, np.ndarray)
