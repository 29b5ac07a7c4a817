"""A `LiveModel` and `RunInfo`s outside the app (CLI, benches, tests): the app builds them from its caches."""

from __future__ import annotations

from pathlib import Path

from cvae.lessons.checks import LiveModel, RunInfo

__all__ = ["live_model", "run_info", "saved_runs"]


def live_model(checkpoint, name: str | None = None) -> LiveModel:
    """A loaded checkpoint's test split, encoded (stored codes where they match), as the checks read it."""
    from cvae.data.datasets import load_split
    from cvae.service.code_cache import encoded_codes, shipped_codes_path
    from cvae.service.evaluation import kl_per_image
    from cvae.service.explorer import Explorer

    data = load_split(checkpoint.config, "test")
    beside = shipped_codes_path(Path(checkpoint.path)) if checkpoint.path else None
    codes = encoded_codes(checkpoint.vae, data.images, data.labels, beside=beside)
    kl = kl_per_image(codes.mu, codes.sd, checkpoint.vae)
    return LiveModel(
        name or Path(checkpoint.path or "model").name,
        Explorer(checkpoint.vae),
        data.images,
        data.labels,
        codes.mu,
        codes.sd,
        kl,
    )


def run_info(checkpoint, name: str | None = None) -> RunInfo:
    name = name or Path(checkpoint.path).name
    return RunInfo(name, checkpoint.config, checkpoint.history, checkpoint.steps_per_epoch)


def saved_runs(root: Path) -> list[RunInfo]:
    """Every loadable run under `root`, newest first (what a do-and-observe check reads)."""
    from cvae.store.checkpoint import CheckpointError, load_checkpoint

    found = [p for p in Path(root).glob("*/params.npz") if not p.parent.name.startswith(".")]
    runs = []
    for params in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            runs.append(run_info(load_checkpoint(params.parent)))
        except CheckpointError:
            continue
    return runs
