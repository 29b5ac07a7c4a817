"""CVAE Explorer's model package: a convolutional VAE as a PyMC model, fitted by amortized ADVI.

Data -> layers/networks -> PyMC model -> training -> checkpoint -> explorer. Training
(`cvae.training`) imports PyMC; everything the explorer needs imports only PyTensor.
"""
from cvae.checkpoint import Checkpoint, CheckpointError, load_checkpoint, run_dir, save_checkpoint
from cvae.config import ConfigError, TrainConfig
from cvae.datasets import DATASET_NAMES, Dataset, DatasetError, load_dataset
from cvae.explorer import Explorer
from cvae.history import History
from cvae.vae import VAE

__all__ = [
    "DATASET_NAMES", "VAE", "Checkpoint", "CheckpointError", "ConfigError", "Dataset", "DatasetError",
    "Explorer", "History", "TrainConfig", "load_checkpoint", "load_dataset", "run_dir", "save_checkpoint",
]
