import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: end-to-end tests (real fits, servers, browsers)")


@pytest.fixture(scope="session")
def mnist5k():
    from cvae.datasets import load_dataset
    return load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, mnist5k):
    """One real short classroom fit shared by the tests that need a trained model."""
    from cvae.config import TrainConfig
    from cvae.training import train
    train_set, _ = mnist5k
    config = TrainConfig(arch="classroom", epochs=4, seed=0)
    return train(config, train_set.images)
