"""Time (and optionally profile) the compiled PyMC training step of one arch, without the fit loop.

python3 bench/step_profile.py --arch seed [--steps 20] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="seed")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args()
    from cvae.config import TrainConfig
    from cvae.data.datasets import load_dataset
    from cvae.training.trainer import Trainer

    images = load_dataset("mnist-5k", "train").images
    trainer = Trainer(TrainConfig(arch=args.arch, epochs=1), images)
    t0 = time.perf_counter()
    step = trainer.step_function(**({"profile": True} if args.profile else {}))
    print(f"compile {time.perf_counter() - t0:.1f}s", flush=True)
    times, cpu = [], []
    for i in range(args.steps):
        trainer._feed(i)  # the batch the fit would feed at this step
        t, c = time.perf_counter(), time.process_time()
        loss = step()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(
        f"step ms: min {min(times) * 1e3:.1f} median {statistics.median(times[1:]) * 1e3:.1f} "
        f"-> {100 / statistics.median(times[1:]):.0f} images/s; "
        f"cpu ms/step median {statistics.median(cpu[1:]) * 1e3:.1f}; "
        f"loss {float(loss) / 100:.1f}"
    )
    if args.profile:
        step.profile.summary(n_ops_to_print=25, n_apply_to_print=30)


if __name__ == "__main__":
    main()
