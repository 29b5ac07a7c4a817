"""A run as one .zip (config.json, params.npz, history.json, optional timeline.npz): export and import.

An imported bundle is untrusted. Before anything is written it must be a small plain zip holding
exactly the checkpoint's files at its top level (no paths, links, folders, extras, duplicates,
encryption or exotic compression), every size declared and actually read within limits, and its
.npz files plain numeric arrays whose headers match their sizes (no object arrays: nothing is ever
unpickled). It is then written atomically and must load with `load_checkpoint`, or nothing appears.
"""

from __future__ import annotations

import io
import json
import math
import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np

from cvae.atomic import atomic_directory
from cvae.store.checkpoint import CheckpointError, load_checkpoint, run_dir
from cvae.training.timeline import load_timeline

__all__ = [
    "BUNDLE_FILES",
    "LIMITS",
    "MAX_BUNDLE_BYTES",
    "OPTIONAL_FILES",
    "BundleError",
    "export_bundle",
    "import_bundle",
    "read_bundle",
]

BUNDLE_FILES = ("config.json", "params.npz", "history.json")
OPTIONAL_FILES = ("timeline.npz",)
LIMITS = {  # uncompressed bytes per file; the largest real run (seed, latent 64) has 10.4 MB of weights
    "config.json": 64 * 1024,
    "params.npz": 64 * 1024 * 1024,
    "history.json": 64 * 1024 * 1024,
    "timeline.npz": 64 * 1024 * 1024,
}
_ARRAY_KINDS = {"params.npz": "f", "timeline.npz": "fiu"}  # weights are floats; snapshots also ints
MAX_BUNDLE_BYTES = 48 * 1024 * 1024  # the zip itself
MAX_ARRAYS = 256
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # identical runs export to identical bytes


class BundleError(ValueError):
    """A bundle that cannot be exported or imported; the message says why, for the user."""


def export_bundle(run: Path) -> bytes:
    """The run directory's files as zip bytes (timeline.npz if it has a readable one); it must load."""
    run = Path(run)
    try:
        load_checkpoint(run)
    except CheckpointError as err:
        raise BundleError(f"cannot export: {err}") from err
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        names = BUNDLE_FILES + (OPTIONAL_FILES if _timeline_ok(run) else ())
        for name in names:
            data = (run / name).read_bytes()
            if len(data) > LIMITS[name]:
                raise BundleError(
                    f"cannot export: {name} is {len(data):,} bytes, over the {LIMITS[name]:,} an import accepts"
                )
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def import_bundle(data: bytes, runs_root: Path, name: str) -> Path:
    """Validate a bundle and write it as run `name` under `runs_root`; returns the run directory.

    Raises BundleError, and leaves `runs_root` as it was, for anything but a loadable checkpoint.
    """
    try:
        target = run_dir(runs_root, name)
    except CheckpointError as err:
        raise BundleError(str(err)) from err
    if target.exists():
        raise BundleError(f"a run named {name!r} already exists; choose another name")
    files = read_bundle(data)
    staged = None
    try:
        with atomic_directory(target) as staging:
            staged = staging
            for file, content in files.items():
                (staging / file).write_bytes(content)
            load_checkpoint(staging)  # a failure here removes the staging dir: nothing appears
            if "timeline.npz" in files and not _timeline_ok(staging):
                raise BundleError("timeline.npz does not hold a readable training timeline")
    except CheckpointError as err:
        message = str(err).replace(str(staged), name) if staged else str(err)
        raise BundleError(f"the bundle is not a valid model: {message}") from err
    except (OverflowError, RecursionError, MemoryError) as err:  # until load_checkpoint maps them
        raise BundleError(f"the bundle is not a valid model: {type(err).__name__}: {err}") from err
    except OSError as err:
        raise BundleError(f"could not write run {name!r}: {err.strerror or err}") from err
    return target


def read_bundle(data: bytes) -> dict[str, bytes]:
    """The files' bytes from a bundle (name -> bytes), after every structural and size check."""
    if not isinstance(data, (bytes, bytearray)):
        raise BundleError(f"expected the bundle's bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise BundleError("the file is empty")
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is {len(data) / 2**20:.1f} MB; the limit is {MAX_BUNDLE_BYTES / 2**20:.0f} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise BundleError(f"this is not a zip file: {err}") from err
    with archive:
        infos = archive.infolist()
        _check_entries(infos)
        files = {info.filename: _read_member(archive, info) for info in infos}
    _check_json(files["config.json"], "config.json")
    _check_json(files["history.json"], "history.json")
    for name in ("params.npz", "timeline.npz"):
        if name in files:
            _check_npz(files[name], name)
    return files


def _check_entries(infos: list[zipfile.ZipInfo]) -> None:
    names = [info.filename for info in infos]
    for info in infos:
        shown = info.filename[:80]
        if (
            info.filename.startswith(("/", "\\"))
            or ".." in info.filename.replace("\\", "/").split("/")
            or (len(info.filename) > 1 and info.filename[1] == ":")
        ):
            raise BundleError(f"refused: {shown!r} is a path that leaves the run directory")
        if info.is_dir() or "/" in info.filename or "\\" in info.filename:
            raise BundleError(f"refused: {shown!r} is in a folder; the three files must be at the top level")
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: type not recorded
            kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise BundleError(f"refused: {shown!r} is {kind}")
        if info.flag_bits & 0x1:
            raise BundleError(f"refused: {shown!r} is encrypted")
        if info.compress_type not in _METHODS:
            raise BundleError(
                f"refused: {shown!r} uses compression method {info.compress_type}; only stored or deflated"
            )
        if info.filename not in LIMITS:
            raise BundleError(
                f"refused: unexpected file {shown!r}; a bundle holds only "
                f"{', '.join(BUNDLE_FILES)} and optionally {', '.join(OPTIONAL_FILES)}"
            )
        if info.file_size > LIMITS[info.filename]:
            raise BundleError(
                f"refused: {info.filename} declares {info.file_size:,} bytes uncompressed, "
                f"over the {LIMITS[info.filename]:,} limit"
            )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BundleError(f"refused: {', '.join(duplicates)} appears more than once")
    missing = [f for f in BUNDLE_FILES if f not in names]
    if missing:
        raise BundleError(f"the bundle is missing {', '.join(missing)}")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read at most the declared size (+1 to catch a liar); the sizes must agree exactly."""
    try:
        with archive.open(info) as member:
            content = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as err:
        raise BundleError(f"{info.filename} is corrupt in the zip: {err}") from err
    except Exception as err:  # zlib.error and friends from a hostile stream
        raise BundleError(f"{info.filename} is corrupt in the zip: {type(err).__name__}: {err}") from err
    if len(content) != info.file_size:
        raise BundleError(f"refused: {info.filename} holds {len(content):,}+ bytes but declares {info.file_size:,}")
    return content


def _check_json(content: bytes, file: str) -> None:
    try:
        json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as err:
        raise BundleError(f"{file} is not valid JSON: {type(err).__name__}: {str(err)[:200]}") from err


def _check_npz(content: bytes, file: str) -> None:
    """A zip of .npy numeric arrays whose headers agree with their sizes; no pickles."""
    try:
        inner = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise BundleError(f"{file} is not an .npz archive: {err}") from err
    with inner:
        infos = inner.infolist()
        if len(infos) > MAX_ARRAYS:
            raise BundleError(f"{file} holds {len(infos)} entries; at most {MAX_ARRAYS}")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise BundleError(f"{file} holds the same array twice")
        total = sum(info.file_size for info in infos)
        if total > LIMITS[file]:
            raise BundleError(f"{file} declares {total:,} bytes of arrays, over the {LIMITS[file]:,} limit")
        for info in infos:
            if (
                not info.filename.endswith(".npy")
                or "/" in info.filename
                or info.compress_type not in _METHODS
                or info.flag_bits & 0x1
            ):
                raise BundleError(f"{file}: unexpected entry {info.filename[:80]!r}")
            _check_npy(inner, info, file)


def _check_npy(inner: zipfile.ZipFile, info: zipfile.ZipInfo, file: str) -> None:
    name = f"{file}: {info.filename[:80]}"
    try:
        with inner.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise BundleError(f"{name} has .npy format {version}; only 1.0 and 2.0")
            header_end = member.tell()
    except BundleError:
        raise
    except Exception as err:  # a hostile header may make the parser raise anything
        raise BundleError(f"{name} is not a valid .npy array: {type(err).__name__}: {err}") from err
    if dtype.hasobject:
        raise BundleError(f"{name} holds Python objects (pickle), which are never loaded")
    if dtype.kind not in _ARRAY_KINDS[file]:
        raise BundleError(
            f"{name} holds {dtype}, not " + ("floating-point weights" if file == "params.npz" else "plain numbers")
        )
    expected = math.prod(shape) * dtype.itemsize
    if info.file_size - header_end != expected:
        raise BundleError(
            f"{name} declares shape {shape} ({expected:,} bytes) but holds {info.file_size - header_end:,}"
        )


def _timeline_ok(run: Path) -> bool:
    """Whether `run` has a readable timeline.npz (load_timeline lets a bad zip's errors through)."""
    try:
        return load_timeline(run) is not None
    except (zipfile.BadZipFile, zlib.error, MemoryError, NotImplementedError, RuntimeError):
        return False
