"""The class palette under simulated colour-vision deficiencies: `python3 -m bench.palette_check`.

Machado et al. (2009) severity 1.0 in linear RGB; prints, per vision, the smallest CIEDE2000
distance between two classes (and which two), and each colour's contrast on the white plot area.
docs/accessibility.md quotes its output.
"""

from __future__ import annotations

from cvae.viz.colour_vision import MACHADO_2009, contrast_ratio, min_pairwise_distance
from cvae.viz.palette import CLASS_COLOURS, PLOT_BACKGROUND

__all__ = ["report"]

# the palette before issue 27 (Paul Tol's "muted" plus grey), for comparison
TOL_MUTED = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
    "#777777",
)


def report(colours=CLASS_COLOURS) -> dict[str, tuple[float, tuple[int, int]]]:
    """{vision: (smallest CIEDE2000 between two classes, (class a, class b))}."""
    return {kind: min_pairwise_distance(list(colours), kind) for kind in ("normal", *MACHADO_2009)}


def main() -> None:
    for name, colours in (("palette (cvae/viz/palette.py)", CLASS_COLOURS), ("before: Tol muted", TOL_MUTED)):
        print(name)
        for kind, (distance, (a, b)) in report(colours).items():
            print(f"  {kind:13} min CIEDE2000 {distance:5.1f}  (classes {a} {colours[a]} and {b} {colours[b]})")
    ratios = ", ".join(f"{i}: {contrast_ratio(c, PLOT_BACKGROUND):.2f}" for i, c in enumerate(CLASS_COLOURS))
    print(f"contrast on the plot area {PLOT_BACKGROUND}: {ratios}")


if __name__ == "__main__":
    main()
