"""Reading and writing IDX files (the MNIST binary format), raw or gzipped."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IdxError", "read_idx", "write_idx"]

_GZIP_MAGIC = b"\x1f\x8b"

_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxError(ValueError):
    """A file is not a valid IDX file."""


def _load_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IdxError(f"{path}: cannot read file: {e}") from e
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise IdxError(f"{path}: corrupt gzip data: {e}") from e


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip detected by magic bytes) into a native-endian array."""
    path = Path(path)
    data = _load_bytes(path)
    if len(data) < 4:
        raise IdxError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise IdxError(f"{path}: bad magic {data[:4].hex()}, expected 0000<type><ndim>")
    code, ndim = data[2], data[3]
    if code not in _DTYPES:
        raise IdxError(f"{path}: unsupported data type code 0x{code:02x}")
    if ndim == 0:
        raise IdxError(f"{path}: header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IdxError(f"{path}: truncated header: {ndim} dimensions need {header_len} bytes, file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        kind = "truncated" if actual < expected else "oversized"
        raise IdxError(
            f"{path}: {kind} payload: dimensions {shape} of {dtype.name} need {expected} bytes, found {actual}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends with ``.gz``."""
    path = Path(path)
    array = np.asarray(array)
    matches = [
        code
        for code, dtype in _DTYPES.items()
        if (dtype.kind, dtype.itemsize) == (array.dtype.kind, array.dtype.itemsize)
    ]
    if not matches:
        raise IdxError(f"{path}: dtype {array.dtype} cannot be stored in IDX")
    if not 1 <= array.ndim <= 255:
        raise IdxError(f"{path}: IDX needs 1 to 255 dimensions, got {array.ndim}")
    code = matches[0]
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
