"""`python -m cvae warm` fills PyTensor's compile cache so the app's first Train compiles nothing."""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytensor
import pytest

import cvae.training.warmup
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

FIRST_TRAIN = """
import json, pytensor
from pathlib import Path
from cvae.config import TrainConfig
from cvae.data.datasets import load_dataset
from cvae.explore.explorer import Explorer
from cvae.training.trainer import Trainer
from cvae.training.warmup import is_warm

def modules():
    return {p.name for p in Path(pytensor.config.compiledir).glob("*") if p.is_dir()}

before = modules()
images = load_dataset("mnist-5k", "train").images[:300]
for arch in ("keras-example", "pymc3-example"):
    trainer = Trainer(TrainConfig(arch=arch, epochs=1), images)
    trainer.fit()
    Explorer(trainer.vae).decode_grid(20, 2.0)
print(json.dumps({"warm": is_warm(), "new_modules": sorted(modules() - before)}))
"""


def _python(args: list[str], compiledir) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTENSOR_FLAGS": f"compiledir={compiledir}"}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=True
    )


def test_warm_command_leaves_nothing_for_the_first_training_to_compile(tmp_path):
    cold = json.loads(_python(["-c", FIRST_TRAIN], tmp_path / "cold").stdout.splitlines()[-1])
    assert not cold["warm"] and cold["new_modules"], "an empty compiledir must compile something"

    warmed = _python(["-m", "cvae", "warm"], tmp_path / "warm")
    seconds = json.loads(warmed.stdout.splitlines()[-1])  # both architectures' graphs, and umap-learn's numba
    assert set(seconds) == {"keras-example", "pymc3-example", "umap"} and all(s > 0 for s in seconds.values())
    after = json.loads(_python(["-c", FIRST_TRAIN], tmp_path / "warm").stdout.splitlines()[-1])
    assert after == {"warm": True, "new_modules": []}


def test_app_warm_up_starts_only_when_the_cache_is_not_marked_warm(monkeypatch):
    monkeypatch.setattr(cvae.training.warmup, "is_warm", lambda: True)
    assert cvae.training.warmup.warm_in_background() is None

    monkeypatch.setattr(cvae.training.warmup, "is_warm", lambda: False)
    process = cvae.training.warmup.warm_in_background()
    assert process is not None
    assert cvae.training.warmup.warm_in_background() is None, "a second server must not start another warm-up"
    assert process.wait(timeout=900) == 0
    monkeypatch.undo()
    assert cvae.training.warmup.is_warm()


def test_only_one_background_warm_up_runs_at_a_time(monkeypatch):
    monkeypatch.setattr(cvae.training.warmup, "is_warm", lambda: False)
    lock = Path(pytensor.config.compiledir) / "cvae-warm.lock"
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cvae.training.warmup.warm_in_background() is None
