"""Data sets as stored (IDX files, Keras-layout .npz, Keras' cache, Debian's Fashion-MNIST), and their preprocessing.

Needs no TensorFlow, except to download through Keras; the checks read data through here before anything runs.
"""

from sweep.data.dataset import DataError, Dataset, Shape
from sweep.data.idx import IDX_FILES, read_idx
from sweep.data.prepare import load, normalize
from sweep.data.sources import BUILT_IN, DEBIAN_FASHION_MNIST, keras_cache_dir, load_idx_dir, load_npz, raw, shape

__all__ = [
    "BUILT_IN",
    "DEBIAN_FASHION_MNIST",
    "IDX_FILES",
    "DataError",
    "Dataset",
    "Shape",
    "keras_cache_dir",
    "load",
    "load_idx_dir",
    "load_npz",
    "normalize",
    "raw",
    "read_idx",
    "shape",
]
