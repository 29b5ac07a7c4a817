"""A `LiveModel` and `RunInfo`s outside the app (CLI, benches, tests): the app builds them from its caches."""

from __future__ import annotations

from pathlib import Path

from cvae.lessons.checks import LiveModel, RunInfo

__all__ = ["live_model", "model_of", "read_run", "saved_runs"]


def live_model(checkpoint, name: str | None = None) -> LiveModel:
    """A loaded checkpoint's test split, encoded (stored codes where they match), as the checks read it."""
    from cvae.explore.code_cache import shipped_codes_path

    beside = shipped_codes_path(Path(checkpoint.path)) if checkpoint.path else None
    return model_of(checkpoint.vae, name or Path(checkpoint.path or "model").name, beside=beside)


def model_of(vae, name: str, *, beside: Path | None = None) -> LiveModel:
    """Any VAE (a fresh fit, say) with its dataset's test split encoded."""
    from cvae.data.datasets import load_split
    from cvae.explore.code_cache import encoded_codes
    from cvae.explore.evaluation import kl_per_image
    from cvae.explore.explorer import Explorer

    data = load_split(vae.config, "test")
    codes = encoded_codes(vae, data.images, data.labels, beside=beside)
    kl = kl_per_image(codes.mu, codes.sd, vae)
    return LiveModel(name, Explorer(vae), data.images, data.labels, codes.mu, codes.sd, kl)


def read_run(path: Path) -> RunInfo | None:
    """A saved run's config and curve from its JSON files alone (no weights): None if they do not load."""
    import json

    from cvae.config import ConfigError, TrainConfig
    from cvae.training.history import History

    try:
        meta = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        history = History.from_dict(json.loads((Path(path) / "history.json").read_text(encoding="utf-8")))
        config = TrainConfig.from_dict(meta.get("config") or {})
    except (OSError, ValueError, KeyError, TypeError, ConfigError, RecursionError):
        return None
    spe = meta.get("steps_per_epoch")
    return RunInfo(Path(path).name, config, history, spe if isinstance(spe, int) and spe > 0 else 0)


def saved_runs(root: Path) -> list[RunInfo]:
    """Every readable run under `root`, newest first (what a do-and-observe check reads)."""
    found = [p.parent for p in Path(root).glob("*/params.npz") if not p.parent.name.startswith(".")]
    runs = (read_run(path) for path in sorted(found, key=lambda p: (p / "params.npz").stat().st_mtime, reverse=True))
    return [run for run in runs if run is not None]
