"""bench/benchmark.py's figures: medians over repeats, ratios to PyTorch, and the Markdown table it prints."""

from __future__ import annotations

import statistics

__all__ = ["markdown", "summarise"]


def _median(rows: list[dict], key: str):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def _paired_ratio(ours: list[dict], torch: list[dict]):
    ratios = [a["images_per_s"] / b["images_per_s"] for a, b in zip(ours, torch) if b["images_per_s"]]
    return statistics.median(ratios) if ratios else None


def summarise(results: dict) -> dict:
    summary = {}
    for arch, row in results["archs"].items():
        warm = row["warm"]
        ips = _median(warm, "images_per_s")
        s = {
            "images_per_s": ips,
            "compile_cold_s": row["cold"]["compile_s"],
            "compile_warm_s": _median(warm, "compile_s"),
            "first_elbo_cold_s": row["cold"]["first_elbo_s"],
            "first_elbo_warm_s": _median(warm, "first_elbo_s"),
            "epoch_4000_s": 4000 / ips if ips else None,
            "peak_rss_mb": _median(warm, "peak_rss_mb"),
            "peak_rss_cold_mb": row["cold"]["peak_rss_mb"],
            "decode_point_ms": row.get("decode", {}).get("point_ms"),
            "decode_grid20_ms": row.get("decode", {}).get("grid20_ms"),
        }
        if row.get("clustered"):
            c = row["clustered"]
            s |= {
                "clustered_seconds": c["seconds"],
                "clustered_epochs": c["epochs"],
                "clustered_knn5": c["knn5_accuracy"],
                "shipped_knn5": c["shipped_knn5_accuracy"],
            }
        if row.get("variant"):
            s["variant_images_per_s"] = _median(row["variant"], "images_per_s")
        if row.get("torch"):
            s["torch_images_per_s"] = _median(row["torch"], "images_per_s")
            s["torch_peak_rss_mb"] = _median(row["torch"], "peak_rss_mb")
            # median over repeats of (ours / PyTorch) within a repeat: robust to load drifting between repeats
            s["ratio_to_torch"] = _paired_ratio(warm, row["torch"])
            if row.get("variant"):
                s["variant_ratio_to_torch"] = _paired_ratio(row["variant"], row["torch"])
        summary[arch] = s
    return summary


def markdown(results: dict) -> str:
    summary = results["summary"]
    archs = list(summary)

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    rows = [
        ("training images/s (warm, median)", "images_per_s", ".0f"),
        ("PyTorch CPU images/s (same net, batch, threads)", "torch_images_per_s", ".0f"),
        ("ratio to PyTorch (median of per-repeat ratios)", "ratio_to_torch", ".2f"),
        (f"training images/s with {' '.join(results.get('variant_env') or [])}", "variant_images_per_s", ".0f"),
        ("ratio to PyTorch, with that", "variant_ratio_to_torch", ".2f"),
        ("one epoch of 4,000 digits, s (excl. compile)", "epoch_4000_s", ".1f"),
        ("compile s, cold (empty compiledir)", "compile_cold_s", ".1f"),
        ("compile s, warm (median)", "compile_warm_s", ".1f"),
        ("Train -> first ELBO point s, cold", "first_elbo_cold_s", ".1f"),
        ("Train -> first ELBO point s, warm (median)", "first_elbo_warm_s", ".1f"),
        ("decode 1 point ms (median of calls)", "decode_point_ms", ".2f"),
        ("decode 20x20 grid ms (median of calls)", "decode_grid20_ms", ".1f"),
        ("peak RSS of a training process MB (warm)", "peak_rss_mb", ".0f"),
        ("peak RSS of a PyTorch training process MB", "torch_peak_rss_mb", ".0f"),
        ("latent map N s after Train: epochs done", "clustered_epochs", ".1f"),
        ("latent map N s after Train: 5-NN label accuracy (chance 0.10)", "clustered_knn5", ".2f"),
        ("shipped 60-epoch model: 5-NN label accuracy", "shipped_knn5", ".2f"),
    ]
    lines = ["| metric | " + " | ".join(archs) + " |", "|---|" + "---|" * len(archs)]
    for label, key, spec in rows:
        if key.startswith("variant") and not results.get("variant_env"):
            continue
        if "N s" in label:
            seconds = next((summary[a]["clustered_seconds"] for a in archs if "clustered_seconds" in summary[a]), None)
            if seconds is None:
                continue
            label = label.replace("N s", f"{seconds:.0f} s")
        lines.append(f"| {label} | " + " | ".join(fmt(summary[a].get(key), spec) for a in archs) + " |")
    env = results["env"]
    lines.append("")
    lines.append(
        f"repeats={results['repeats']} quick={results['quick']} load before={env['load_before']} "
        f"after={env['load_after']} ({env['cpus']} CPUs)"
    )
    return "\n".join(lines)
