"""cvae.atomic: the exchange path and the two-rename fallback, SIGKILLed at every step."""

import os
import time

import pytest

from cvae import atomic
from cvae.atomic import atomic_directory, recover
from tests.support.crash import run_killed_at

_STEPS = {"open", "mkdir", "rmdir", "unlink", "replace", "fsync", "close", "TextIOWrapper.write"}


def _write(target, text):
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text(text)
        (tmp / "b.txt").write_text(text)


def _state(target):
    texts = {(target / f).read_text() for f in ("a.txt", "b.txt")}
    assert len(texts) == 1, texts  # never half old, half new
    return texts.pop()


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "fallback"])
def test_kill_at_every_step_then_recover(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "run"
    kills = 0
    for kill_at in range(1, 500):
        _write(target, "old")
        status = run_killed_at(lambda: _write(target, "new"), kill_at, _STEPS)
        recover(target)  # what the next save does first
        assert _state(target) in ("old", "new")
        if os.WIFEXITED(status):
            assert os.WEXITSTATUS(status) == 0, "the save raised instead of finishing (traceback above)"
            assert _state(target) == "new"
            break
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9, status
        kills += 1
    else:
        pytest.fail("never completed")
    # every watched call was a place to die: a save of two files makes well over ten of them
    assert kills >= 10, f"only {kills} kills injected: the step names no longer match the calls made"
    assert [p.name for p in tmp_path.iterdir() if ".old-" in p.name] == []


def test_recover_puts_back_an_orphaned_old_copy(tmp_path):
    _write(tmp_path / "run", "old")
    orphan = tmp_path / ".run.old-x"
    orphan.mkdir()
    os.replace(tmp_path / "run", orphan / "run")
    assert recover(tmp_path / "run") and _state(tmp_path / "run") == "old"
    assert not orphan.exists() and not recover(tmp_path / "run")


def test_sweep_removes_stale_staging_and_restores_old_copies_but_spares_live_saves(tmp_path):
    for name in ("a.b", "c"):
        _write(tmp_path / name, name)
    stale = tmp_path / ".a.b.tmp-dead"
    live = tmp_path / ".c.tmp-live"
    for staging in (stale, live):
        staging.mkdir()
        (staging / "params.npz").write_bytes(b"half")
    long_ago = time.time() - atomic.STALE_S - 60
    os.utime(stale, (long_ago, long_ago))
    orphan = tmp_path / ".c.old-x"
    orphan.mkdir()
    os.replace(tmp_path / "c", orphan / "c")

    atomic.sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.tmp-live", "a.b", "c"]
    assert _state(tmp_path / "a.b") == "a.b" and _state(tmp_path / "c") == "c"
    atomic.sweep(tmp_path / "missing")  # nothing to do, no error
