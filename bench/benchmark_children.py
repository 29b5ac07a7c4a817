"""The measurements bench/benchmark.py makes, each in a fresh interpreter (`bench/benchmark.py --child KIND`).

A fit through the project's own Trainer, the PyTorch reference, warm decode latency, and the latent
map a minute after Train. Each returns a dict that the child prints as one JSON line.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

__all__ = ["CHILDREN"]

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100


def _load_images(n_images: int):
    from cvae.data.datasets import load_dataset

    images = load_dataset("mnist-5k", "train").images
    return images[:n_images] if n_images else images


def child_fit(args) -> dict:
    """One PyMC fit through the project's own Trainer, as the CLI/app runs it."""
    t_proc = time.perf_counter()
    from cvae.config import TrainConfig
    from cvae.training.trainer import Trainer

    images = _load_images(args.n_images)
    import_s = time.perf_counter() - t_proc
    config = TrainConfig(arch=args.arch, epochs=args.epochs, batch_size=BATCH, seed=0)
    first: list[float] = []

    def on_first(approx, losses, i):
        if not first:
            first.append(time.perf_counter())

    t0 = time.perf_counter()  # the user clicks "Train"
    trainer = Trainer(config, images)
    build_s = time.perf_counter() - t0
    result = trainer.fit(callbacks=[on_first])
    hist = result.history
    return {
        "arch": args.arch,
        "steps": result.steps,
        "status": result.status,
        "import_s": import_s,
        "build_s": build_s,
        "compile_s": result.compile_s,
        "first_elbo_s": (first[0] - t0) if first else None,
        "images_per_s": result.images_per_s,
        "first_neg_elbo": float(hist.neg_elbo[0]),
        "last_neg_elbo": float(hist.neg_elbo[-1]),
        **_backend_info(),
    }


def _backend_info() -> dict:
    from cvae.nn import blas, conv_kernels, parallel

    private = blas.private_blas()
    return {
        "blas": private.corename if private else "numpy",
        "threads": parallel.threads(),
        "winograd": conv_kernels.winograd() is not None,
        "malloc_tuned": blas.tune_malloc(),
    }


def child_torch(args) -> dict:
    """The PyTorch reference as its users write it (`bench/torch_reference.py`: native padding
    arguments, Adam, 20 warm-up steps), NCHW: the faster layout on this machine for both networks."""
    from bench.torch_reference import train

    return train(args.arch, "nchw", args.steps)


def child_decode(args) -> dict:
    """Warm decode latency of one point and of a 20 x 20 grid through the Explorer API."""
    import numpy as np

    from cvae.config import TrainConfig
    from cvae.explore.explorer import Explorer
    from cvae.model.vae import VAE

    explorer = Explorer(VAE(TrainConfig(arch=args.arch, seed=0)))
    point = np.array([[0.5, -0.25]], dtype=np.float32)
    t0 = time.perf_counter()
    explorer.decode(point)  # compiles
    compile_s = time.perf_counter() - t0
    explorer.decode_grid(20, 2.0)

    def timed(fn, n):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e3

    return {
        "arch": args.arch,
        "compile_s": compile_s,
        "point_ms": timed(lambda: explorer.decode(point), args.calls),
        "grid20_ms": timed(lambda: explorer.decode_grid(20, 2.0), args.calls),
    }


def child_clustered(args) -> dict:
    """Press Train on the app's default classroom run, stop it `--seconds` later (compile
    included, as the app's Start does), and measure how clustered the latent map is."""
    import threading

    from cvae.config import TrainConfig
    from cvae.data.datasets import load_dataset
    from cvae.explore.evaluation import evaluate, knn_accuracy
    from cvae.store.checkpoint import load_checkpoint
    from cvae.training.run import TrainingRun
    from cvae.viz.static import latent_map_image

    train_set, test_set = load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")
    reference = slice(0, 2000)

    def clustering(vae) -> float:
        z_train, z_test = vae.encode(train_set.images[reference])[0], vae.encode(test_set.images)[0]
        return knn_accuracy(z_train, train_set.labels[reference], z_test, test_set.labels)

    pressed = time.perf_counter()
    stop = threading.Event()
    threading.Timer(args.seconds, stop.set).start()
    run = TrainingRun.prepare(TrainConfig(arch="classroom", epochs=10_000))
    result = run.fit(stop_event=stop)
    stopped_s = time.perf_counter() - pressed
    mu = result.vae.encode(test_set.images)[0]
    picture = args.out.parent / f"latent_map_after_{args.seconds:.0f}s.png"
    picture.parent.mkdir(parents=True, exist_ok=True)
    picture.write_bytes(latent_map_image(mu, test_set.labels, test_set.class_names))
    shipped = load_checkpoint(ROOT / "assets" / "pretrained")
    return {
        "seconds": args.seconds,
        "stopped_after_s": stopped_s,
        "compile_s": result.compile_s,
        "epochs": result.steps / run.trainer.steps_per_epoch,
        "knn5_accuracy": clustering(result.vae),
        "test_neg_elbo": evaluate(result.vae, test_set.images)["neg_elbo"],
        "shipped_knn5_accuracy": clustering(shipped.vae),
        "chance": 0.1,
        "picture": str(picture),
    }


CHILDREN = {"fit": child_fit, "torch": child_torch, "decode": child_decode, "clustered": child_clustered}
