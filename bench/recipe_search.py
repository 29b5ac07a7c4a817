"""Search training recipes for the classroom network on mnist-5k, chosen on a validation split.

    python -m bench.recipe_search search NAME ... [--save DIR]  # fit on 90% of train, score the other 10%
    python -m bench.recipe_search final NAME --out DIR   # refit on all of train, score the test split
    python -m bench.recipe_search score DIR --label L    # score a saved checkpoint (e.g. the shipped one)

The choice is made on the validation split only; the test split is scored for the chosen recipes
after the choice. The rule (the shipped model has two targets, -ELBO and the map's 5-NN accuracy):
the lowest best validation -ELBO among the candidates whose validation 5-NN accuracy is at least
0.70; if there is none, the highest validation 5-NN among those at or below 150 nats. (The first
choice, before the seeds and the 200-epoch candidates, was on the validation -ELBO alone; it picked
the same model.) Everything lands in bench/results/recipes.json (merged, one entry per name).
Times are from a shared 2-core machine: `loadavg` is recorded with each run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cvae.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "recipes.json"
BASE = TrainConfig(dataset="mnist-5k", arch="keras-example", latent_dim=2, likelihood="bernoulli", batch_size=100)
VAL = {"val_fraction": 0.1}

_MIXTURE_RECIPE = {
    "epochs": 120,
    "lr": 3e-3,
    "lr_schedule": "cosine",
    "augment_shift": 1,
    "kl_warmup_epochs": 20,
    "prior": "mixture",
    "prior_components": 10,
}

# name -> (changes to BASE); "shipped-*" aim at the shipped model, "preset-*" at <= 40 s on 2 cores
CANDIDATES: dict[str, dict] = {
    "shipped-today": {"epochs": 60, "lr": 1e-3},
    "shipped-cos3e-3": {"epochs": 60, "lr": 3e-3, "lr_schedule": "cosine"},
    "shipped-cos3e-3-shift1": {"epochs": 60, "lr": 3e-3, "lr_schedule": "cosine", "augment_shift": 1},
    "shipped-cos3e-3-warm10": {"epochs": 60, "lr": 3e-3, "lr_schedule": "cosine", "kl_warmup_epochs": 10},
    "shipped-cos3e-3-shift1-warm10": {
        "epochs": 60,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "augment_shift": 1,
        "kl_warmup_epochs": 10,
    },
    "shipped-cos3e-3-shift1-warm10-e120": {
        "epochs": 120,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "augment_shift": 1,
        "kl_warmup_epochs": 10,
    },
    "shipped-cos3e-3-shift1-warm20-e120": {
        "epochs": 120,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "augment_shift": 1,
        "kl_warmup_epochs": 20,
    },
    "shipped-cos3e-3-shift1-warm10-seed1": {
        "epochs": 60,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "augment_shift": 1,
        "kl_warmup_epochs": 10,
        "seed": 1,
    },
    **{  # the chosen recipe's seeds: the start matters (seed 1 of the 60-epoch recipe lost 6 nats)
        f"shipped-cos3e-3-shift1-warm20-e120-seed{seed}": {
            "epochs": 120,
            "lr": 3e-3,
            "lr_schedule": "cosine",
            "augment_shift": 1,
            "kl_warmup_epochs": 20,
            "seed": seed,
        }
        for seed in (1, 2, 3)
    },
    **{  # longer, with the warm-up over 20 or 40 epochs
        f"shipped-cos3e-3-shift1-warm{warm}-e200": {
            "epochs": 200,
            "lr": 3e-3,
            "lr_schedule": "cosine",
            "augment_shift": 1,
            "kl_warmup_epochs": warm,
        }
        for warm in (20, 40)
    },
    "shipped-today-seed1": {"epochs": 60, "lr": 1e-3, "seed": 1},
    "shipped-warm10": {"epochs": 60, "lr": 1e-3, "kl_warmup_epochs": 10},
    "shipped-lr3e-3-warm10": {"epochs": 60, "lr": 3e-3, "kl_warmup_epochs": 10},
    "shipped-cos3e-3-shift1-warm20": {
        "epochs": 60,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "augment_shift": 1,
        "kl_warmup_epochs": 20,
    },
    "preset-today": {"epochs": 30, "lr": 3e-3},
    "preset-cos3e-3-shift1-warm5": {
        "epochs": 30,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "augment_shift": 1,
        "kl_warmup_epochs": 5,
    },
    "preset-cos3e-3-shift1-warm5-e35": {
        "epochs": 35,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "augment_shift": 1,
        "kl_warmup_epochs": 5,
    },
    "preset-warm5": {"epochs": 30, "lr": 3e-3, "kl_warmup_epochs": 5},
    "preset-cos3e-3-warm10": {"epochs": 30, "lr": 3e-3, "lr_schedule": "cosine", "kl_warmup_epochs": 10},
    "preset-cos3e-3": {"epochs": 30, "lr": 3e-3, "lr_schedule": "cosine"},
    "preset-cos5e-3": {"epochs": 30, "lr": 5e-3, "lr_schedule": "cosine"},
    "preset-cos3e-3-warm5": {"epochs": 30, "lr": 3e-3, "lr_schedule": "cosine", "kl_warmup_epochs": 5},
    "preset-cos3e-3-shift1": {"epochs": 30, "lr": 3e-3, "lr_schedule": "cosine", "augment_shift": 1},
    # a learned 10-component mixture prior (a config field of its own): each class can take a mode of the map;
    # the shipped recipe at 120 epochs from three starts, and at 200
    **{
        f"shipped-mix10-cos3e-3-shift1-warm20-{tail}": _MIXTURE_RECIPE | extra
        for tail, extra in (
            ("e120", {}),
            ("e200", {"epochs": 200}),
            ("e120-seed1", {"seed": 1}),
            ("e120-seed2", {"seed": 2}),
        )
    },
    "preset-mix10-warm5": {"epochs": 30, "lr": 3e-3, "kl_warmup_epochs": 5, "prior": "mixture", "prior_components": 10},
    # the preset's two priors from two more starts: one seed moves a short run by several nats
    **{
        f"preset-{prior_name}warm5-seed{seed}": {"epochs": 30, "lr": 3e-3, "kl_warmup_epochs": 5, "seed": seed} | prior
        for seed in (1, 2)
        for prior_name, prior in (("", {}), ("mix10-", {"prior": "mixture", "prior_components": 10}))
    },
}


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _merge(section: str, name: str, entry: dict) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.setdefault(section, {})[name] = entry
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def _fit(config: TrainConfig, trainers=None):
    from cvae.training.run import TrainingRun

    run = TrainingRun.prepare(config, trainers)
    began = time.perf_counter()
    result = run.fit()
    return run, result, time.perf_counter() - began


def search(names: list[str], save: Path | None = None) -> None:
    """Fit each candidate with the validation split held out; record its validation curve (and,
    with `save`, keep each fit as a checkpoint there: a model chosen on validation ships as fitted)."""
    from cvae.training.trainer_cache import TrainerCache

    trainers = TrainerCache(size=1)  # every candidate has the same graph: one compiled step serves all
    for name in names:
        config = BASE.replace(**CANDIDATES[name], **VAL)
        run, result, seconds = _fit(config, trainers)
        val = result.history.val_neg_elbo
        best = min(range(len(val)), key=val.__getitem__)
        entry = {
            "changes": CANDIDATES[name],
            "best_val_neg_elbo": round(val[best], 3),
            "best_epoch": best + 1,
            "last_val_neg_elbo": round(val[-1], 3),
            "val_knn5_accuracy": _val_knn(result.vae, config),
            "epochs": config.epochs,
            "steps": result.steps,
            "seconds": round(seconds, 1),
            "images_per_s": round(result.images_per_s, 1),
            "loadavg": _loadavg(),
            "val_curve": [round(v, 2) for v in val],
        }
        if save is not None:
            entry["checkpoint"] = str(run.save(save / name, result))
        _merge("search", name, entry)
        print(json.dumps({"name": name, **{k: v for k, v in entry.items() if k != "val_curve"}}), flush=True)
        trainers.give_back(run.trainer)


def _val_knn(vae, config: TrainConfig) -> float:
    """5-NN label accuracy of the validation rows' codes against 2,000 of the rows trained on."""
    from cvae.data.datasets import load_split
    from cvae.data.splits import validation_split
    from cvae.explore.evaluation import knn_accuracy

    train = load_split(config, "train")
    rows, held_out = validation_split(len(train), config.val_fraction)
    z_ref, z_val = vae.encode(train.images[rows[:2000]])[0], vae.encode(train.images[held_out])[0]
    return round(knn_accuracy(z_ref, train.labels[rows[:2000]], z_val, train.labels[held_out]), 4)


def score(vae) -> dict:
    """Test -ELBO, 50-sample IW bound and 5-NN label accuracy of the latent means (the benchmark's
    measure: the first 2,000 training digits as reference, the test digits as queries)."""
    from cvae.data.datasets import load_dataset
    from cvae.explore.evaluation import evaluate, knn_accuracy

    train, test = load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")
    result = evaluate(vae, test.images, iw=50, seed=0)
    z_ref, z_test = vae.encode(train.images[:2000])[0], vae.encode(test.images)[0]
    return {
        "test_neg_elbo": round(result["neg_elbo"], 3),
        "test_iw50": round(result["iw_neg_log_likelihood"], 3),
        "knn5_accuracy": round(knn_accuracy(z_ref, train.labels[:2000], z_test, test.labels), 4),
    }


def final(name: str, out: Path, epochs: int | None) -> None:
    """Refit candidate `name` on the whole training split (no validation rows, no early stopping),
    save it as a checkpoint like `python -m cvae train --out` does, and score the test split."""
    changes = CANDIDATES[name] | ({"epochs": epochs} if epochs else {})
    config = BASE.replace(**changes)
    run, result, seconds = _fit(config)
    run.save(out, result)
    entry = {
        "changes": changes,
        "checkpoint": str(out),
        "steps": result.steps,
        "seconds": round(seconds, 1),
        "images_per_s": round(result.images_per_s, 1),
        "loadavg": _loadavg(),
        **score(result.vae),
    }
    _merge("final", name, entry)
    print(json.dumps({"name": name, **entry}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search")
    s.add_argument("names", nargs="+", choices=sorted(CANDIDATES))
    s.add_argument("--save", type=Path, default=None, help="keep each fit as a checkpoint in this folder")
    f = sub.add_parser("final")
    f.add_argument("name", choices=sorted(CANDIDATES))
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--epochs", type=int, default=None, help="default: the candidate's own")
    c = sub.add_parser("score")
    c.add_argument("checkpoint", type=Path)
    c.add_argument("--label", required=True)
    args = parser.parse_args()
    if args.command == "search":
        search(args.names, args.save)
    elif args.command == "final":
        final(args.name, args.out, args.epochs)
    else:
        from cvae.store.checkpoint import load_checkpoint

        checkpoint = load_checkpoint(args.checkpoint)
        entry = {"checkpoint": str(args.checkpoint), "config": checkpoint.config.to_dict(), **score(checkpoint.vae)}
        _merge("scored", args.label, entry)
        print(json.dumps({"label": args.label, **entry}), flush=True)


if __name__ == "__main__":
    main()
