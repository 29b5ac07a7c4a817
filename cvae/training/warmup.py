"""Fill PyTensor's compile cache for what a fresh app compiles first.

PyTensor caches each compiled C module on disk (its `compiledir`, shared by every process of
the user), so once the default training step of each architecture and the encode / decode /
log p(x|z) functions have been compiled, a Train press costs ~2 s instead of ~25 s.
Hyperparameters that end up inside the C code (beta, sigma) and other likelihoods or latent
sizes still compile their few modules on first use.

`python -m cvae warm` does it (the README's install command runs it); the app starts it in
the background on a server whose cache is not yet marked warm for this code and these versions.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pytensor

from cvae.config import TrainConfig
from cvae.nn.networks import ARCHITECTURES
from cvae.settings import ROOT

__all__ = ["WarmupResult", "is_warm", "warm_in_background", "warm_up"]

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # cvae/: its sources decide what is compiled


@dataclass(frozen=True)
class WarmupResult:
    arch: str
    seconds: float


def warm_up(archs: tuple[str, ...] = ARCHITECTURES.names(), config: TrainConfig | None = None) -> list[WarmupResult]:
    """Compile, by running them once, a two-step fit with a timeline and the explorer's functions, for
    `config` (default: the default config) with each of `archs`; marks the cache warm; seconds per arch."""
    config = config or TrainConfig()
    from cvae.data.datasets import load_split
    from cvae.training.timeline import PROBE_SIZE, Timeline
    from cvae.training.trainer import Trainer  # imports PyMC

    data = load_split(config, "train")
    probe = load_split(config, "test").images[:PROBE_SIZE]
    results = []
    for arch in archs:
        began = time.perf_counter()
        arch_config = config.replace(arch=arch, epochs=1)
        trainer = Trainer(arch_config, data.images[: 2 * arch_config.batch_size])
        trainer.fit([Timeline(trainer.vae, probe, np.zeros(len(probe), dtype=int))])
        origin = np.zeros((1, arch_config.latent_dim))
        trainer.vae.decode(origin)
        trainer.vae.log_px(probe[:1], origin)
        results.append(WarmupResult(arch, time.perf_counter() - began))
    if {ARCHITECTURES.canonical(a) for a in archs} == set(ARCHITECTURES) and config == TrainConfig():
        _marker().write_text(f"{time.time():.0f}\n")
    return results


def is_warm() -> bool:
    """Whether `warm_up()` ran for this code, these library versions and this compiledir."""
    return _marker().exists()


def warm_in_background() -> subprocess.Popen | None:
    """Start `python -m cvae warm --background` unless the cache is marked warm or another
    server's warm-up is running (the child holds a lock on the compiledir until it exits)."""
    if is_warm():
        return None
    lock_path = Path(pytensor.config.compiledir) / "cvae-warm.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held by a running warm-up
        os.close(fd)
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "cvae", "warm", "--background"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(fd,),
        )
    finally:
        os.close(fd)  # the child's copy keeps the lock


def _marker() -> Path:
    """A file in PyTensor's compiledir (cleared with it), named for what the compiled code depends on."""
    digest = hashlib.sha256()
    for name in ("numpy", "pytensor", "pymc"):
        with contextlib.suppress(PackageNotFoundError):
            digest.update(f"{name}={version(name)};".encode())
    for source in sorted(PACKAGE_DIR.rglob("*.py")) + sorted(PACKAGE_DIR.rglob("*.c")):
        digest.update(source.read_bytes())
    digest.update(os.environ.get("PYTENSOR_FLAGS", "").encode())
    return Path(pytensor.config.compiledir) / f"cvae-warm-{digest.hexdigest()[:16]}"
