"""The data set's types: the four arrays, their shape, and the error for missing, corrupt or mismatched data."""

from typing import NamedTuple, Tuple

import numpy as np


class DataError(ValueError):
    """Missing, corrupt or mismatched data; the message names the key and what is expected."""


class Dataset(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class Shape(NamedTuple):
    """What a model needs to know of its data: one image's shape (H, W or H, W, C) and the number of classes."""

    image: Tuple[int, ...]
    classes: int
