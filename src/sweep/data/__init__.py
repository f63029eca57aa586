"""Data sets as stored (IDX files, Keras-layout .npz, Keras' cache, Debian's Fashion-MNIST), and their preprocessing.

Needs no TensorFlow, except to download through Keras; the checks read data through here before anything runs.
"""

from sweep.data.dataset import DataError, Dataset
from sweep.data.idx import IDX_FILES, read_idx
from sweep.data.prepare import load, normalize
from sweep.data.sources import DEBIAN_FASHION_MNIST, keras_cache_dir, load_idx_dir, load_npz, raw

__all__ = [
    "DEBIAN_FASHION_MNIST",
    "IDX_FILES",
    "DataError",
    "Dataset",
    "keras_cache_dir",
    "load",
    "load_idx_dir",
    "load_npz",
    "normalize",
    "raw",
    "read_idx",
]
