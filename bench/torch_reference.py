"""The PyTorch CPU reference, written as PyTorch users write it, timed against our fit in turns.

    python3 -m bench.torch_reference [--rounds 3] [--arch seed --arch classroom]

Each round runs, each in a fresh process: our fit (`bench.benchmark`'s `fit` child: the
project's own `Trainer`, warm compile cache), then the reference in NCHW, in channels_last, and in
NCHW with OMP_WAIT_POLICY=PASSIVE (VARIANTS). The reference is the fastest variant's median; the
ratio to PyTorch's defaults (the faster layout) is printed beside it. Prints medians, the load average and the ratio
ours / reference in images/s; writes `bench/results/torch_reference.json`.

The reference: the layers of `cvae/nn/networks.py` with PyTorch's own padding arguments
(`padding=1`, `output_padding=1`, `padding="same"` for the seed's 2 x 2 stride-1 convolutions),
Bernoulli ELBO with reparameterisation, `torch.optim.Adam(lr=1e-3)`, batch 100,
`torch.set_num_threads(2)`, 20 warm-up steps, the mnist-5k training digits binarised at 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH, THREADS, WARMUP = 100, 2, 20
# Timed steps per reference run (after the warm-up): a few seconds each on 2 cores.
STEPS = {"seed": 30, "classroom": 200}
# Our fit: epochs of the 4,000 training digits (40 steps each), as bench/benchmark.py times it.
EPOCHS = {"seed": 1, "classroom": 4}
LAYOUTS = ("nchw", "channels_last")
# (name, layout, extra environment): the reference's variants timed each round. PyTorch's OpenMP threads
# spin while they wait; on a machine whose cores are busy with other work that spinning took 2-8x the
# CPU per step (measured, load ~10), and OMP_WAIT_POLICY=PASSIVE is the usual remedy there.
VARIANTS = (
    ("nchw", "nchw", {}),
    ("channels_last", "channels_last", {}),
    ("nchw_omp_passive", "nchw", {"OMP_WAIT_POLICY": "PASSIVE"}),
)


def networks(arch: str, latent: int = 2):
    """(encoder, decoder) as `nn.Sequential`s: images (B, 1, 28, 28) -> (B, 2 * latent) -> logits (B, 1, 28, 28)."""
    from torch import nn

    relu = nn.ReLU
    if arch == "seed":  # cvae.nn.networks._pymc3_example
        enc = nn.Sequential(
            nn.Conv2d(1, 1, 2, padding="same"), relu(),
            nn.Conv2d(1, 64, 2, stride=2), relu(),  # 28 -> 14: TensorFlow's 'same' pads nothing here
            nn.Conv2d(64, 64, 3, padding=1), relu(),
            nn.Conv2d(64, 64, 3, padding=1), relu(),
            nn.Flatten(),
            nn.Linear(64 * 14 * 14, 128), relu(),
            nn.Linear(128, 2 * latent),
        )  # fmt: skip
        dec = nn.Sequential(
            nn.Linear(latent, latent), relu(),
            nn.Linear(latent, 64 * 14 * 14), relu(),
            nn.Unflatten(1, (64, 14, 14)),
            nn.ConvTranspose2d(64, 64, 3, padding=1), relu(),
            nn.ConvTranspose2d(64, 64, 3, padding=1), relu(),
            nn.ConvTranspose2d(64, 64, 2, stride=2), relu(),  # 14 -> 28 ('valid')
            nn.Conv2d(64, 1, 2, padding="same"),
        )  # fmt: skip
    elif arch == "classroom":  # cvae.nn.networks._keras_example
        enc = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), relu(),  # 28 -> 14
            nn.Conv2d(16, 32, 3, stride=2, padding=1), relu(),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(7 * 7 * 32, 64), relu(),
            nn.Linear(64, 2 * latent),
        )  # fmt: skip
        dec = nn.Sequential(
            nn.Linear(latent, 64), relu(),
            nn.Linear(64, 7 * 7 * 32), relu(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), relu(),  # 7 -> 14
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), relu(),  # 14 -> 28
            nn.Conv2d(16, 1, 3, padding=1),
        )  # fmt: skip
    else:
        raise ValueError(f"arch must be 'seed' or 'classroom'; got {arch!r}")
    return enc, dec


def train(arch: str, layout: str, steps: int) -> dict:
    """`WARMUP` untimed steps, then `steps` timed ones; images/s over the timed steps."""
    import torch
    import torch.nn.functional as F

    from cvae.data.datasets import load_dataset

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    images = load_dataset("mnist-5k", "train").images  # (N, 1, 28, 28) float32 in [0, 1]
    data = torch.from_numpy(images > 0.5).float()  # binarised: the Bernoulli likelihood's observations
    enc, dec = networks(arch)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    enc, dec = enc.to(memory_format=fmt), dec.to(memory_format=fmt)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3)

    def step(x):  # x (B, 1, 28, 28)
        mu, logvar = enc(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(dec(z), x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (recon + kl) / len(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def batches():
        while True:
            for idx in torch.randperm(len(data)).split(BATCH):
                if len(idx) == BATCH:
                    yield data[idx].contiguous(memory_format=fmt)

    source = batches()
    for _ in range(WARMUP):
        step(next(source))
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        loss = step(next(source))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "arch": arch,
        "layout": layout,
        "steps": steps,
        "images_per_s": steps * BATCH / wall,
        "cpu_ms_per_step": cpu / steps * 1e3,
        "last_neg_elbo": loss.item(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def _run(cmd: list[str], env: dict | None = None) -> dict:
    """A fresh interpreter's last JSON line (bench.benchmark.run_child for our fit)."""
    import subprocess

    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(archs: list[str], rounds: int) -> dict:
    """Ours, reference NCHW, reference channels_last, in turns, `rounds` times per arch."""
    from bench.benchmark import run_child

    out: dict = {"load_before": list(os.getloadavg()), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    for arch in archs:
        rows: dict = {"ours": [], **{name: [] for name, _, _ in VARIANTS}}
        for r in range(rounds):
            print(f"[{arch}] round {r + 1}/{rounds}", file=sys.stderr, flush=True)
            rows["ours"].append(run_child("fit", ["--arch", arch, "--epochs", str(EPOCHS[arch])]))
            for name, layout, env in VARIANTS:
                child = ["--child", "--arch", arch, "--layout", layout, "--steps", str(STEPS[arch])]
                rows[name].append(_run([sys.executable, "-m", "bench.torch_reference", *child], env))
        med = {k: statistics.median(r["images_per_s"] for r in v) for k, v in rows.items()}
        best = max((name for name, _, _ in VARIANTS), key=med.get)
        default = max(LAYOUTS, key=med.get)  # PyTorch's defaults, the faster layout
        rows["summary"] = {
            **{f"{k}_images_per_s": v for k, v in med.items()},
            "reference": best,
            "ratio": med["ours"] / med[best],
            "ratio_per_round": [a["images_per_s"] / b["images_per_s"] for a, b in zip(rows["ours"], rows[best])],
            "default_reference": default,
            "ratio_to_default": med["ours"] / med[default],
        }
        out[arch] = rows
    out["load_after"] = list(os.getloadavg())
    return out


def report(results: dict, archs: list[str]) -> str:
    names = [name for name, _, _ in VARIANTS]
    lines = [
        "| network | ours images/s | " + " | ".join(f"PyTorch {n}" for n in names) + " | ours / fastest reference "
        "| ours / PyTorch defaults (faster layout) |",
        "|---|---|" + "---|" * len(names) + "---|---|",
    ]
    for arch in archs:
        s = results[arch]["summary"]
        per = ", ".join(f"{x:.2f}" for x in s["ratio_per_round"])
        refs = " | ".join(f"{s[f'{n}_images_per_s']:,.0f}" for n in names)
        lines.append(
            f"| {arch} | {s['ours_images_per_s']:,.0f} | {refs} "
            f"| **{s['ratio']:.2f}x** ({s['reference']}; rounds {per}) "
            f"| {s['ratio_to_default']:.2f}x ({s['default_reference']}) |"
        )
    load = " / ".join(f"{x:.2f}" for x in results["load_before"])
    after = " / ".join(f"{x:.2f}" for x in results["load_after"])
    lines.append(f"\nmedians of {len(results[archs[0]]['ours'])} rounds; load {load} before, {after} after")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", action="append", choices=["seed", "classroom"], help="repeatable; default both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "torch_reference.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--layout", choices=LAYOUTS, default="nchw", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.child:
        arch = (args.arch or ["classroom"])[0]
        print(json.dumps(train(arch, args.layout, args.steps or STEPS[arch])), flush=True)
        return 0
    archs = args.arch or ["seed", "classroom"]
    results = compare(archs, args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, args.out)
    print(report(results, archs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
