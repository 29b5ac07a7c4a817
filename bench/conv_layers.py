"""The classroom network's convolution layers, each map timed: ours, the matrix-multiply route, PyTorch.

    python3 -m bench.conv_layers [--repeats 100] [--rounds 3] [--arch classroom]

Batch 100, float32, 2 threads. For each convolution layer of the network (shapes read from it), its
three maps (forward, input gradient, kernel gradient; a transposed convolution's forward pass is
the adjoint map), timed in turns for `--rounds` rounds, each the median of `--repeats` calls:

- ours: `cvae.nn.conv_kernels` as a training step calls them (direct loops for 16-32 channels,
  `cvae/nn/direct.c`; one-channel loops, `cvae/nn/patches.c`; Winograd; im2col);
- the matrix-multiply route: the same calls with the direct and one-channel loops off (what the
  network ran before them: im2col or Winograd products on the private BLAS);
- PyTorch as its users write the layer (`nn.Conv2d` / `nn.ConvTranspose2d` with `padding=1`,
  `output_padding=1`), channels_last (its faster layout for these networks, bench.torch_reference),
  `torch.set_num_threads(2)`: the forward, and the forward with `torch.autograd.grad` for the input
  and the weights (one backward gives both).

Writes bench/results/conv_layers.json with the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "conv_layers.json"
BATCH = 100


def _median_ms(f, repeats: int) -> float:
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def layers(arch: str) -> list[dict]:
    """Each convolution layer of `arch`: its name, geometry, channels (x side, y side) and PyTorch form."""
    from cvae.config import TrainConfig
    from cvae.model.vae import VAE
    from cvae.nn.layers import Conv2DTranspose, _Convolution, _geometry

    networks = VAE(TrainConfig(arch=arch)).networks
    out = []
    for layer in [*networks.encoder.layers, *networks.decoder.layers]:
        if not isinstance(layer, _Convolution):
            continue
        transposed = isinstance(layer, Conv2DTranspose)
        hw = layer._out_hw if transposed else layer.input_shape[:2]
        k, c, o = layer.W.get_value().shape[1:]  # (k, k, C, O): x has C channels, y has O
        geometry = _geometry(layer.kernel, hw, layer.stride, layer.padding)
        out.append({"name": layer.name, "geometry": geometry, "c": c, "o": o, "k": k, "transposed": transposed})
    return out


@contextlib.contextmanager
def matmul_route():
    """The direct and one-channel loops off: what conv_kernels falls back to."""
    from cvae.nn import conv_kernels, direct

    saved = direct.native, conv_kernels.native
    direct.native = conv_kernels.native = lambda: None
    try:
        yield
    finally:
        direct.native, conv_kernels.native = saved


def ours(spec: dict, repeats: int) -> dict[str, float]:
    from cvae.nn.conv_kernels import conv_adjoint, conv_forward, conv_kernel_grad

    g, c, o, k = spec["geometry"], spec["c"], spec["o"], spec["k"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, g.h_in, g.w_in, c), dtype=np.float32)
    y = rng.standard_normal((BATCH, g.h_out, g.w_out, o), dtype=np.float32)
    w = rng.standard_normal((k, k, c, o), dtype=np.float32)
    maps = {
        "forward": lambda: conv_forward(x, w, g),
        "input gradient": lambda: conv_adjoint(y, w, g),
        "kernel gradient": lambda: conv_kernel_grad(x, y, g),
    }
    times = {f"ours {name}": _median_ms(f, repeats) for name, f in maps.items()}
    with matmul_route():
        times |= {f"matmul route {name}": _median_ms(f, repeats) for name, f in maps.items()}
    return times


def pytorch(spec: dict, repeats: int) -> dict[str, float]:
    import torch
    from torch import nn

    torch.set_num_threads(2)
    g, c, o, k, stride = spec["geometry"], spec["c"], spec["o"], spec["k"], spec["geometry"].stride
    pad = (k - 1) // 2 if spec["geometry"].top + spec["geometry"].bottom else 0
    if spec["transposed"]:  # (B, O, Ho, Wo) -> (B, C, H, W)
        layer = nn.ConvTranspose2d(o, c, k, stride, padding=pad, output_padding=stride - 1 if pad else 0)
        shape = (BATCH, o, g.h_out, g.w_out)
    else:
        layer = nn.Conv2d(c, o, k, stride, padding=pad)
        shape = (BATCH, c, g.h_in, g.w_in)
    layer = layer.to(memory_format=torch.channels_last)
    x = torch.randn(shape).to(memory_format=torch.channels_last).requires_grad_()
    cotangent = torch.randn(layer(x).shape).to(memory_format=torch.channels_last)
    with torch.no_grad():
        forward = _median_ms(lambda: layer(x), repeats)
    both = _median_ms(lambda: torch.autograd.grad(layer(x), (x, layer.weight), cotangent), repeats)
    return {"PyTorch forward": forward, "PyTorch forward + both gradients": both}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arch", default="classroom")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    specs = layers(args.arch)
    rounds = [{s["name"]: ours(s, args.repeats) | pytorch(s, args.repeats) for s in specs} for _ in range(args.rounds)]
    medians = {
        name: {key: round(statistics.median(r[name][key] for r in rounds), 3) for key in rounds[0][name]}
        for name in rounds[0]
    }
    three = ("forward", "input gradient", "kernel gradient")
    total = {
        route: round(sum(m[f"{route} {name}"] for m in medians.values() for name in three), 2)
        for route in ("ours", "matmul route")
    }
    total["PyTorch"] = round(sum(m["PyTorch forward + both gradients"] for m in medians.values()), 2)
    result = {
        "arch": args.arch,
        "layers": {
            s["name"]: f"{'transposed ' if s['transposed'] else ''}{s['geometry']}, {s['c']} -> {s['o']} channels"
            for s in specs
        },
        "ms_medians": medians,
        "all_layers_three_maps_ms": total,
        "matmul_route_over_ours": round(total["matmul route"] / total["ours"], 2),
        "pytorch_over_ours": round(total["PyTorch"] / total["ours"], 2),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    summary = ("all_layers_three_maps_ms", "matmul_route_over_ours", "pytorch_over_ours")
    print(json.dumps({key: result[key] for key in summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
