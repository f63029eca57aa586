"""The data set's types: the four arrays, and the error for missing, corrupt or mismatched data."""

from typing import NamedTuple

import numpy as np


class DataError(ValueError):
    """Missing, corrupt or mismatched data; the message names the key and what is expected."""


class Dataset(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
