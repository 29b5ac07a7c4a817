"""The classroom decoder's last layer (28x28, 16 channels -> 1, 3x3, stride 1, 'same'), its three maps, against PyTorch.

    python3 -m bench.output_layer [--repeats 200] [--rounds 3] [--channels 16]

Batch 100, float32, 2 threads; the channels are the classroom network's (`dec.out.W`, read from it),
or `--channels`. Times, each the median of
`--repeats` calls, in turns for `--rounds` rounds:

- ours: `cvae.nn.conv_kernels` as a training step calls them (the direct one-channel C loops,
  `cvae/nn/patches.c`, split over the Op threads): forward, input gradient, kernel gradient;
- the matrix-multiply route the other convolutions take (`gemm` of the input by the kernel's 9
  taps, then the shifted outputs added; the kernel gradient from the shifted output gradient), for
  the same three maps;
- PyTorch as its users write this layer: `nn.Conv2d(16, 1, 3, padding=1)` in channels_last (the
  faster layout for it here) and NCHW, the forward and `torch.autograd.grad` of `<y, dy>` for the
  input and kernel gradients (one backward gives both: timed together), `torch.set_num_threads(2)`.

Writes bench/results/output_layer.json with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "output_layer.json"
B, H, W = 100, 28, 28


def classroom_channels() -> int:
    """The input channels of the classroom decoder's last layer."""
    from cvae.config import TrainConfig
    from cvae.model.vae import VAE

    weights = {p.name: p.get_value() for p in VAE(TrainConfig(arch="classroom")).networks.params}
    return weights["dec.out.W"].shape[2]


def _median_ms(f, repeats: int) -> float:
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def ours(C: int, repeats: int) -> dict[str, float]:
    from cvae.nn import conv_kernels
    from cvae.nn.blas import gemm
    from cvae.nn.layers import _geometry
    from cvae.nn.parallel import parallel
    from cvae.nn.patches import native, shifted, unshift

    if native() is None:
        raise SystemExit("no C compiler: the direct loops are not built")
    g = _geometry(3, (H, W), 1, "same")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, H, W, C), dtype=np.float32)
    w = rng.standard_normal((3, 3, C, 1), dtype=np.float32)
    dy = rng.standard_normal((B, H, W, 1), dtype=np.float32)
    taps = np.ascontiguousarray(w.transpose(2, 0, 1, 3).reshape(C, 9))  # (C, 9): every tap of the kernel
    scratch = H * W * 9 * 4

    def gemm_forward():
        out = np.empty((B, H, W, 1), np.float32)
        parallel(lambda lo, hi: unshift(gemm(x[lo:hi].reshape(-1, C), taps), g, out[lo:hi]), B, 1e9, scratch)

    def gemm_adjoint():
        out = np.empty_like(x)
        per_tap = np.ascontiguousarray(taps.T)
        parallel(lambda lo, hi: gemm(shifted(dy[lo:hi], g), per_tap, out=out[lo:hi].reshape(-1, C)), B, 1e9, scratch)

    def gemm_kernel_grad():
        sum(parallel(lambda lo, hi: gemm(x[lo:hi].reshape(-1, C).T, shifted(dy[lo:hi], g)), B, 1e9, scratch))

    return {
        "ours forward": _median_ms(lambda: conv_kernels.conv_forward(x, w, g), repeats),
        "ours input gradient": _median_ms(lambda: conv_kernels.conv_adjoint(dy, w, g), repeats),
        "ours kernel gradient": _median_ms(lambda: conv_kernels.conv_kernel_grad(x, dy, g), repeats),
        "matmul route forward": _median_ms(gemm_forward, repeats),
        "matmul route input gradient": _median_ms(gemm_adjoint, repeats),
        "matmul route kernel gradient": _median_ms(gemm_kernel_grad, repeats),
    }


def pytorch(C: int, repeats: int) -> dict[str, float]:
    import torch

    torch.set_num_threads(2)
    return {key: ms for layout in ("channels_last", "nchw") for key, ms in _pytorch_layout(C, layout, repeats).items()}


def _pytorch_layout(C: int, layout: str, repeats: int) -> dict[str, float]:
    import torch
    from torch import nn

    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    conv = nn.Conv2d(C, 1, 3, padding=1).to(memory_format=fmt)
    x = torch.randn(B, C, H, W).to(memory_format=fmt).requires_grad_()
    dy = torch.randn(B, 1, H, W).to(memory_format=fmt)
    with torch.no_grad():
        forward = _median_ms(lambda: conv(x), repeats)
    both = _median_ms(lambda: torch.autograd.grad(conv(x), (x, conv.weight), dy), repeats)
    return {f"PyTorch {layout} forward": forward, f"PyTorch {layout} forward + both gradients": both}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--channels", type=int, default=0, help="input channels (default: the classroom network's)")
    args = parser.parse_args(argv)
    channels = args.channels or classroom_channels()
    load_before = os.getloadavg()
    rounds = [ours(channels, args.repeats) | pytorch(channels, args.repeats) for _ in range(args.rounds)]
    medians = {key: round(statistics.median(r[key] for r in rounds), 3) for key in rounds[0]}
    ours_all = sum(medians[f"ours {m}"] for m in ("forward", "input gradient", "kernel gradient"))
    torch_all = min(medians[f"PyTorch {layout} forward + both gradients"] for layout in ("channels_last", "nchw"))
    result = {
        "layer": f"{B} x {H} x {W} x {channels} -> 1, 3x3, stride 1, 'same'",
        "ms_medians": medians,
        "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rounds],
        # a training step runs all three maps: ours against PyTorch's faster layout doing the same
        "ours_all_three_ms": round(ours_all, 3),
        "pytorch_all_three_ms": torch_all,
        "pytorch_over_ours": round(torch_all / ours_all, 2),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
