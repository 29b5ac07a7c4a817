"""Made-up training histories and saved runs for the tests: one definition instead of a copy per file."""

from pathlib import Path

from cvae.config import TrainConfig
from cvae.model.vae import VAE
from cvae.store.checkpoint import save_checkpoint
from cvae.training.history import History

__all__ = ["columns", "history", "saved_run"]


def history(
    n: int = 3, *, start: float = 200.0, drop: float = 1.0, kl: float = 3.0, beta: float = 1.0, dt: float = 0.1
) -> History:
    """Steps 1..n: -ELBO `start - drop * step`, a constant KL and beta, `dt * step` seconds
    (reconstruction = -ELBO - beta * KL, as History.append computes it)."""
    h = History()
    for step in range(1, n + 1):
        h.append(step, start - drop * step, kl, beta, dt * step)
    return h


def columns(n: int = 80, start: float = 300.0) -> dict[str, list]:
    """A run's history as history.json holds it: -ELBO `start - step`, KL 3 at beta 1, a second a step."""
    return history(n, start=start, dt=1.0).to_dict()


def saved_run(path: Path, h: History | None = None, *, steps: int | None = None, **config) -> Path:
    """A finished run at `path`: an untrained `VAE(TrainConfig(**config))` (its codes still vary) with
    history `h` (default: 80 steps, -ELBO 400 - step, KL 2, a second a step); `steps` is saved when given."""
    h = history(80, start=400.0, kl=2.0, dt=1.0) if h is None else h
    meta = {} if steps is None else {"steps": steps}
    return save_checkpoint(path, VAE(TrainConfig(**config)), h, status="finished", **meta)
