"""Injected faults: SIGKILL at every file-system step of a save and at random times, a really full
disk, and corrupt checkpoint files (fuzzed): only a complete checkpoint or a CheckpointError, ever.

Covered elsewhere, not repeated here: a download that fails halfway leaves no partial file
(tests/unit/test_download.py::test_a_failed_download_says_why_and_leaves_nothing[short-read],
::test_disk_full_cleans_up, ::test_failed_replacement_keeps_no_partial); a stopped training keeps and saves
its model (tests/cluster/test_jobs.py::test_stop_from_another_thread_keeps_and_saves_the_model); a worker
killed mid-fit fails its job and saves nothing
(tests/cluster/test_jobs.py::test_a_worker_killed_mid_fit_fails_its_job_and_saves_nothing).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvae.config import TrainConfig
from cvae.model.vae import VAE
from cvae.store.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tests import factories
from tests.conftest import ROOT
from tests.support.crash import run_killed_at

# builtins whose call is a step on disk: a kill just before each one is a distinct crash state
_DISK_STEPS = {
    "open",
    "mkdir",
    "rmdir",
    "unlink",
    "replace",
    "rename",
    "fsync",
    "close",
    "BufferedRandom.write",
    "BufferedWriter.write",
    "TextIOWrapper.write",
    "FileIO.write",
    "BufferedRandom.close",
    "BufferedWriter.close",
    "TextIOWrapper.close",
}


def _history(n: int):
    return factories.history(n, drop=1e-3, dt=0.01)  # -ELBO falls slowly: long decimals, as a real run's


@pytest.fixture(scope="module")
def versions():
    """Two distinguishable checkpoints: (vae, history length) by version parity."""
    return {0: (VAE(TrainConfig(seed=10)), 2_000), 1: (VAE(TrainConfig(seed=11)), 2_001)}


def _expect_version(path: Path, versions, allowed: set[int]) -> int:
    """The checkpoint at `path` loads completely and is exactly one of the `allowed` saves."""
    checkpoint = load_checkpoint(path)  # raises if half-written
    seq = checkpoint.meta["seq"]
    assert seq in allowed, (seq, allowed)
    vae, n = versions[seq % 2]
    assert len(checkpoint.history) == n
    expected = vae.weights()
    for name, value in checkpoint.vae.weights().items():
        np.testing.assert_array_equal(value, expected[name])
    return seq


def _save_with_kill_at(target: Path, versions, seq: int, kill_at: int) -> int:
    """Save version `seq` in a child that SIGKILLs itself just before its `kill_at`-th disk step."""
    vae, n = versions[seq % 2]
    history = _history(n)
    return run_killed_at(lambda: save_checkpoint(target, vae, history, seq=seq), kill_at, _DISK_STEPS)


@pytest.mark.parametrize("first_save", [True, False], ids=["first-save", "overwrite"])
def test_sigkill_at_every_disk_step_of_a_save(tmp_path, versions, first_save):
    """Crash consistency, exhaustively: for k = 1, 2, ... the saving process is SIGKILLed just
    before its k-th file-system call (open, write, fsync, mkdir, rename, unlink, ...), until a save
    runs to the end. After every crash the run is the old checkpoint or the new one, complete, or
    (first save only) absent; never missing, never partial."""
    root = tmp_path / "runs"
    target = root / "run"
    killed = 0
    for kill_at in range(1, 2_000):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        if not first_save:
            vae, n = versions[0]
            save_checkpoint(target, vae, _history(n), seq=0)
        status = _save_with_kill_at(target, versions, 1, kill_at)
        if os.WIFEXITED(status):
            assert os.WEXITSTATUS(status) == 0, f"the save itself failed (exit {os.WEXITSTATUS(status)})"
            _expect_version(target, versions, {1})
            break
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        killed += 1
        if first_save and not target.exists():
            continue
        assert target.exists(), (
            f"SIGKILL before disk step {kill_at} left no checkpoint at all: {sorted(p.name for p in root.iterdir())}"
        )
        _expect_version(target, versions, {1} if first_save else {0, 1})
        visible = [p.name for p in root.iterdir() if not p.name.startswith(".")]
        assert visible == ["run"], visible  # leftovers are hidden staging dirs, never listed as runs
    else:
        pytest.fail("the save never completed")
    assert killed >= 10  # the sweep really crossed the save


def test_sigkill_at_random_times_in_a_loop_of_saves(tmp_path, versions):
    """A child saves versions 1, 2, 3, ... back to back; it is SIGKILLed at a random moment,
    then another child carries on where it stopped. 25 kills, bounded to about a minute."""
    target = tmp_path / "runs" / "run"
    rng = random.Random(1234)
    done = -1  # the last save a child reported complete
    started = time.monotonic()
    kills = 0
    while kills < 25 and time.monotonic() - started < 90:
        read, write = os.pipe()
        first = done + 1
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read)
                seq = first
                while True:
                    vae, n = versions[seq % 2]
                    save_checkpoint(target, vae, _history(n * 10), seq=seq)
                    os.write(write, f"{seq}\n".encode())
                    seq += 1
            finally:
                os._exit(3)
        os.close(write)
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the saving loop died by itself"
        kills += 1
        with os.fdopen(read) as pipe:
            reported = [int(line) for line in pipe.read().split()]
        if reported:
            done = reported[-1]
        if not target.exists():
            assert done == -1, "a checkpoint that was saved has disappeared"
            continue
        checkpoint = load_checkpoint(target)
        seq = checkpoint.meta["seq"]
        assert seq in (done, done + 1), (seq, done)  # the last complete save, or the one in flight
        vae, n = versions[seq % 2]
        assert len(checkpoint.history) == n * 10
        np.testing.assert_array_equal(checkpoint.vae.weights()["enc.out.W"], vae.weights()["enc.out.W"])
        done = seq
    assert kills >= 10 and done >= 1


# --- a really full disk --------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (we are root in CI); where mounting is not permitted, the test is skipped and
    tests/unit/test_checkpoint.py::test_failed_save_keeps_previous_checkpoint (simulated ENOSPC) stands."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"cannot mount a small tmpfs here: {err}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=30)


def test_disk_full_on_save_keeps_previous_checkpoint(small_disk):
    vae_old, vae_new = VAE(TrainConfig(seed=1)), VAE(TrainConfig(seed=2))
    target = save_checkpoint(small_disk / "run", vae_old, _history(10), seq=0)  # ~0.9 MB of 2 MB
    with pytest.raises(CheckpointError, match="No space left on device") as info:
        save_checkpoint(target, vae_new, _history(100_000), seq=1)  # weights + ~9 MB of history
    assert "previous checkpoint there is unchanged" in str(info.value)
    assert load_checkpoint(target).meta["seq"] == 0
    assert sorted(p.name for p in small_disk.iterdir()) == ["run"]  # the staging dir was removed
    save_checkpoint(target, vae_new, _history(10), seq=2)  # the space came back
    assert load_checkpoint(target).meta["seq"] == 2


def test_disk_full_on_bundle_import_leaves_nothing(small_disk, tmp_path):
    from cvae.store.bundle import BundleError, export_bundle, import_bundle

    source = save_checkpoint(tmp_path / "src", VAE(TrainConfig(seed=1)), _history(5_000))
    data = export_bundle(source)
    import_bundle(data, small_disk, "one")  # ~1.3 MB of 2 MB: one fits, two do not
    with pytest.raises(BundleError, match="No space left on device"):
        import_bundle(data, small_disk, "two")
    assert sorted(p.name for p in small_disk.iterdir()) == ["one"]
    load_checkpoint(small_disk / "one")


# --- corrupt checkpoint files, fuzzed ------------------------------------------------------------

_HOSTILE_JSON = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**30,
    "",
    "x" * 1000,
    [],
    {},
    [1, 2],
    {"a": 1},
    "INF",
    "NAN",
    "NEST",
    "BIGINT",
]


def _json_dumps(tree) -> str:
    text = json.dumps(tree, allow_nan=True)
    return (
        text.replace('"INF"', "1e999")
        .replace('"NAN"', "NaN")
        .replace('"NEST"', "[" * 5_000 + "]" * 5_000)
        .replace('"BIGINT"', "9" * 5_000)
    )


def _paths(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(tree, list):
        for i, value in enumerate(tree[:3]):
            yield from _paths(value, prefix + (i,))


def _replace(tree, path, value):
    if not path:
        return value
    tree = json.loads(json.dumps(tree))
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def _huge_shape_member() -> bytes:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += " " * (117 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64


@st.composite
def _damage(draw, files: dict[str, bytes]):
    """(file name, new bytes): a byte-level, JSON-level or array-level corruption of one file."""
    name = draw(st.sampled_from(sorted(files)))
    data = files[name]
    kind = draw(st.sampled_from(["bytes", "structure"]))
    if kind == "bytes":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            pos = draw(st.integers(0, max(0, len(out) - 1)))
            op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
            if op == "flip" and out:
                out[pos] ^= 1 << draw(st.integers(0, 7))
            elif op == "truncate":
                del out[pos:]
            elif op == "insert":
                out[pos:pos] = draw(st.sampled_from([b"Infinity", b"NaN", b"[", b"{}", b"1e999", b"\xff", b"\x00"]))
            else:
                del out[pos : pos + draw(st.integers(1, 8))]
        return name, bytes(out)
    if name.endswith(".json"):
        tree = json.loads(data)
        path = draw(st.sampled_from(list(_paths(tree))))
        value = draw(st.sampled_from(_HOSTILE_JSON))
        return name, _json_dumps(_replace(tree, path, value)).encode()
    arrays = dict(np.load(io.BytesIO(data)))
    key = draw(st.sampled_from(sorted(arrays)))
    old = arrays[key]
    choice = draw(
        st.sampled_from(
            ["object", "int", "complex", "half", "shape", "nan", "inf", "empty", "scalar", "extra", "missing", "huge"]
        )
    )
    if choice == "huge":  # a header declaring a terabyte
        buffer = io.BytesIO()
        np.savez(buffer, **{k: v for k, v in arrays.items() if k != key})
        import zipfile

        with zipfile.ZipFile(buffer, "a") as archive:
            archive.writestr(f"{key}.npy", _huge_shape_member())
        return name, buffer.getvalue()
    replacement = {
        "object": lambda: np.array([{"x": 1}], dtype=object),
        "int": lambda: old.astype(np.int32),
        "complex": lambda: old.astype(np.complex64),
        "half": lambda: old.astype(np.float16),
        "shape": lambda: np.zeros(old.shape + (1,), old.dtype),
        "nan": lambda: old * np.nan,
        "inf": lambda: old + np.inf,
        "empty": lambda: np.zeros(0, old.dtype),
        "scalar": lambda: np.float32(1),
    }
    if choice == "extra":
        arrays["extra.W"] = np.zeros(3, np.float32)
    elif choice == "missing":
        del arrays[key]
    else:
        arrays[key] = replacement[choice]()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return name, buffer.getvalue()


@pytest.fixture(scope="module")
def saved_files(tmp_path_factory):
    path = save_checkpoint(
        tmp_path_factory.mktemp("fuzz") / "run", VAE(TrainConfig(seed=4)), _history(5), status="finished"
    )
    return path, {f: (path / f).read_bytes() for f in ("config.json", "params.npz", "history.json")}


def test_fuzz_load_checkpoint_with_corrupt_files(saved_files):
    path, files = saved_files
    outcomes = {"refused": 0, "loaded": 0}

    @settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(_damage(files))
    def run(damage):
        name, data = damage
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = Path(tmp) / "run"
            shutil.copytree(path, run_dir)
            (run_dir / name).write_bytes(data)
            try:
                checkpoint = load_checkpoint(run_dir)
            except CheckpointError as err:
                assert str(err)
                outcomes["refused"] += 1
            else:
                weights = checkpoint.vae.weights()
                assert all(np.all(np.isfinite(w)) for w in weights.values())
                outcomes["loaded"] += 1

    run()
    assert outcomes["refused"] > 100


@pytest.mark.parametrize(
    "name, content",
    [
        ("history.json", '{"step": [1e999], "neg_elbo": [1], "reconstruction": [1], "kl": [1], "time_s": [1]}'),
        (
            "history.json",
            '{"step": [1], "neg_elbo": [' + "9" * 400 + '], "reconstruction": [1], "kl": [1], "time_s": [1]}',
        ),
        ("history.json", "[" * 100_000 + "]" * 100_000),
        ("config.json", "[" * 100_000 + "]" * 100_000),
        ("config.json", '{"format_version": ' + "1" * 5_000 + "}"),
        ("params.npz", "HUGE"),
    ],
    ids=[
        "history-infinite-step",
        "history-400-digit-float",
        "history-deep",
        "config-deep",
        "config-5000-digit-int",
        "npz-terabyte-shape",
    ],
)
def test_known_escapes_are_checkpoint_errors(saved_files, tmp_path, name, content):
    """Regressions found by the fuzzers above: each escaped load_checkpoint as an OverflowError,
    RecursionError, ValueError or MemoryError instead of a CheckpointError."""
    path, files = saved_files
    run_dir = tmp_path / "run"
    shutil.copytree(path, run_dir)
    if content == "HUGE":
        import zipfile

        buffer = io.BytesIO(files["params.npz"])
        with zipfile.ZipFile(buffer, "a") as archive:
            archive.writestr("zzz.npy", _huge_shape_member())
        data = buffer.getvalue()
    else:
        data = content.encode()
    (run_dir / name).write_bytes(data)
    with pytest.raises(CheckpointError):
        load_checkpoint(run_dir)


def test_referenced_fault_tests_exist():
    """The faults this file leaves to other test files are really tested there."""
    download = (ROOT / "tests" / "unit" / "test_download.py").read_text()
    jobs = (ROOT / "tests" / "cluster" / "test_jobs.py").read_text()
    for name in (
        "def test_a_failed_download_says_why_and_leaves_nothing",
        '"short-read"',
        "def test_disk_full_cleans_up",
        "def test_failed_replacement_keeps_no_partial",
    ):
        assert name in download
    assert "def test_stop_from_another_thread_keeps_and_saves_the_model" in jobs
    assert "def test_a_worker_killed_mid_fit_fails_its_job_and_saves_nothing" in jobs
