"""Data in: the datasets (MNIST, its offline 5k subset, Fashion-MNIST), their file format and
download, and a user's own image or drawing turned into one MNIST-like digit."""

from cvae.data.datasets import DATASET_NAMES, SPLITS, Dataset, DatasetError, load_dataset, load_split
from cvae.data.download import DownloadError

__all__ = ["DATASET_NAMES", "SPLITS", "Dataset", "DatasetError", "DownloadError", "load_dataset", "load_split"]
