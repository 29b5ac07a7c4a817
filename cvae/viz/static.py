"""Static figures for download: PNG or SVG bytes drawn on matplotlib's Agg canvas (no pyplot)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np

from cvae.viz.elbo_figures import RUN_COLOURS, smooth
from cvae.viz.latent_figures import PALETTE, map_range
from cvae.viz.map_overlays import PriorContours

__all__ = ["FORMATS", "comparison_image", "elbo_image", "latent_map_image", "mosaic_image"]

FORMATS = ("png", "svg")
_DPI = 100


def _figure(**options):
    """A matplotlib Figure; matplotlib is imported on the first download, not with the page (0.6 s)."""
    from matplotlib.figure import Figure

    return Figure(**options)


def _patches():
    import matplotlib.patches

    return matplotlib.patches


def latent_map_image(
    mu: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    fmt: str = "png",
    prior: PriorContours | None = None,
    box: float | None = None,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    title: str | None = None,
) -> bytes:
    """Encoded means mu (N, >=2) coloured by label, as the app's latent map, with the `prior`'s contours
    in the same coordinates (`cvae.viz.map_overlays.prior_contours`); PNG or SVG bytes."""
    _check_fmt(fmt)
    fig = _figure(figsize=(6.4, 5.6), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    _draw_latent(
        ax,
        mu,
        labels,
        class_names,
        prior=prior,
        box=box,
        x_range=x_range,
        y_range=y_range,
        legend=True,
    )
    if title:
        ax.set_title(title)
    return _render(fig, fmt)


def mosaic_image(mosaic: np.ndarray, *, fmt: str = "png", scale: int | None = None) -> bytes:
    """A grey (H, W) image in [0, 1] (e.g. `Explorer.decode_grid`), each pixel a `scale` x `scale`
    block, never smoothed; by default scaled up to at least 560 px on the long side."""
    _check_fmt(fmt)
    mosaic = np.asarray(mosaic, dtype=float)
    if mosaic.ndim != 2 or 0 in mosaic.shape:
        raise ValueError(f"mosaic must be a non-empty 2-D grey image; got shape {mosaic.shape}")
    scale = scale or max(1, -(-560 // max(mosaic.shape)))
    big = np.repeat(np.repeat(np.clip(mosaic, 0.0, 1.0), scale, axis=0), scale, axis=1)  # (H*s, W*s)
    fig = _figure(figsize=(big.shape[1] / _DPI, big.shape[0] / _DPI), dpi=_DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(big, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest", resample=False, aspect="auto")
    ax.set_axis_off()
    return _render(fig, fmt)


def elbo_image(history_dicts: Mapping[str, Mapping[str, Sequence[float]]], fmt: str = "png") -> bytes:
    """-ELBO curves of several runs on one axis, raw (faint) and smoothed; x is each history's
    'epoch' list when present, else 'step'."""
    _check_fmt(fmt)
    fig = _figure(figsize=(8.0, 4.2), dpi=_DPI, layout="constrained")
    _draw_elbo(fig.add_subplot(), history_dicts)
    return _render(fig, fmt)


def comparison_image(
    history_dicts: Mapping[str, Mapping[str, Sequence[float]]],
    maps: Mapping[str, tuple[np.ndarray, np.ndarray, Sequence[str]]],
    *,
    fmt: str = "png",
    priors: Mapping[str, PriorContours | None] | None = None,
    same_range: bool = False,
) -> bytes:
    """The Compare page as one figure: the -ELBO curves on top, each run's latent map below.

    `maps` is run name -> (mu (N, >=2), labels (N,), class names); runs with a 1-D latent are skipped.
    `priors` is run name -> its prior's contours on z1 vs z2 (a run without one has none drawn).
    """
    _check_fmt(fmt)
    maps = {name: m for name, m in maps.items() if np.ndim(m[0]) == 2 and np.shape(m[0])[1] >= 2}
    n = max(len(maps), 1)
    fig = _figure(figsize=(max(4.6 * n, 8.0), 4.0 + 4.6), dpi=_DPI, layout="constrained")
    grid = fig.add_gridspec(2, n, height_ratios=(4.0, 4.6))
    _draw_elbo(fig.add_subplot(grid[0, :]), history_dicts)
    ranges = map_range(np.concatenate([m[0][:, :2] for m in maps.values()])) if same_range and maps else None
    for i, (name, (mu, labels, class_names)) in enumerate(maps.items()):
        ax = fig.add_subplot(grid[1, i])
        x_range, y_range = ranges or map_range(mu)
        _draw_latent(
            ax,
            mu,
            labels,
            class_names,
            prior=(priors or {}).get(name),
            box=None,
            x_range=x_range,
            y_range=y_range,
            legend=i == len(maps) - 1,
        )
        ax.set_title(name, fontsize=10, color=RUN_COLOURS[i % len(RUN_COLOURS)])
    return _render(fig, fmt)


def _draw_latent(ax, mu, labels, class_names, *, prior, box, x_range, y_range, legend) -> None:
    mu, labels = np.asarray(mu), np.asarray(labels)
    if mu.ndim != 2 or mu.shape[1] < 2 or len(mu) != len(labels):
        raise ValueError(f"need mu (N, >=2) and labels (N,); got {mu.shape} and {labels.shape}")
    default_x, default_y = map_range(mu) if len(mu) else ((-3.0, 3.0), (-3.0, 3.0))
    for label in np.unique(labels):
        members = labels == label
        name = class_names[label] if label < len(class_names) else str(label)
        ax.scatter(
            mu[members, 0],
            mu[members, 1],
            s=5,
            color=PALETTE[label % len(PALETTE)],
            alpha=0.8,
            linewidths=0,
            label=name,
        )
    if prior is not None:
        for n, line in enumerate(prior.lines):
            label = prior.name if n == 0 else None
            ax.plot(line[:, 0], line[:, 1], color="#000000", lw=0.9, ls=(0, (4, 3)), alpha=0.6, label=label)
    if box is not None:
        ax.add_patch(_patches().Rectangle((-box, -box), 2 * box, 2 * box, fill=False, color="#CC3311", lw=1.5, ls="--"))
    ax.set_xlim(*(x_range or default_x))
    ax.set_ylim(*(y_range or default_y))
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.axhline(0, color="#CCCCCC", lw=0.6, zorder=0)
    ax.axvline(0, color="#CCCCCC", lw=0.6, zorder=0)
    if legend:
        ax.legend(
            title="label",
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            markerscale=2.5,
            fontsize=8,
            title_fontsize=9,
            frameon=False,
        )


def _draw_elbo(ax, history_dicts) -> None:
    by_epoch = bool(history_dicts) and all("epoch" in h for h in history_dicts.values())
    for i, (name, history) in enumerate(history_dicts.items()):
        x = np.asarray(history["epoch" if by_epoch else "step"], dtype=float)
        y = np.asarray(history["neg_elbo"], dtype=float)
        if not len(y):
            continue
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        ax.plot(x, y, color=colour, lw=0.6, alpha=0.25)
        ax.plot(x, smooth(y), color=colour, lw=2.0, label=name)
    ax.set_xlabel("epoch" if by_epoch else "step (one minibatch)")
    ax.set_ylabel("-ELBO (nats per image)")
    ax.grid(color="#EEEEEE")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9, frameon=False)
    else:
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes)


def _check_fmt(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")


def _render(fig, fmt: str) -> bytes:
    """Draw on a private Agg canvas: no pyplot, so no global figure registry to leak into."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format=fmt, dpi=_DPI, facecolor="white", metadata={"Software": None} if fmt == "png" else {"Date": None}
    )
    return buffer.getvalue()
