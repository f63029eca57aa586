"""The study's preprocessing, once per process: Keras' normalize(x, axis=1), bit for bit, and the training limit."""

from functools import lru_cache
from typing import Optional

import numpy as np

from sweep.data import cache, sources
from sweep.data.dataset import Dataset
from sweep.data.sources import raw


def normalize(x: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """The study's preprocessing: tf.keras.utils.normalize(x, axis=1) (in float64), stored as float32.

    That is an L2 norm along axis 1 of every image (its rows, over H for each column, and channel of H x W x C).
    Bit for bit what Keras computes (tested), in 0.09 s instead of 2.1 s for the 70k images of every job process:
    the squared sums of uint8 values are exact integers, so their float64 square roots are Keras' norms, and
    dividing a chunk at a time keeps the float64 temporaries small. Other dtypes go through Keras itself.
    """
    if x.dtype != np.uint8:
        import keras

        return keras.utils.normalize(x, axis=1).astype(np.float32)
    exact = np.int32 if x.shape[1] * 255**2 < 2**31 else np.int64  # int32 sums twice as fast, exact up to H = 33025
    norm = np.sqrt(np.einsum("ni...,ni...->n...", x, x, dtype=exact), dtype=np.float64)
    norm[norm == 0] = 1
    out = np.empty(x.shape, np.float32)
    for start in range(0, len(x), chunk):
        out[start : start + chunk] = x[start : start + chunk] / norm[start : start + chunk, None]
    return out


def _prepared(stored: Dataset, limit: Optional[int]) -> Dataset:
    n = len(stored.x_train) if limit is None else min(limit, len(stored.x_train))
    return Dataset(
        normalize(stored.x_train[:n]),
        stored.y_train[:n].astype(np.int64),
        normalize(stored.x_test),
        stored.y_test.astype(np.int64),
    )


@lru_cache(maxsize=2)
def load(name: str, path: Optional[str] = None, limit: Optional[int] = None) -> Dataset:
    """Load and normalize a data set once per process; `limit` keeps the first N training images.

    From the memory-mapped cache of the prepared arrays where it can be (sweep.data.cache), else from the files.
    """
    found = sources.files(name, path) if cache.folder() is not None else None
    if not found:
        return _prepared(raw(name, path), limit)
    full = cache.cached(found, lambda: _prepared(raw(name, path), None))
    n = len(full.x_train) if limit is None else min(limit, len(full.x_train))
    return Dataset(full.x_train[:n], full.y_train[:n], full.x_test, full.y_test)
