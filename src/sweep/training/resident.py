"""TensorFlow copies of the data set's arrays, made once per process and shared by the jobs it runs.

Every job of a worker trains and evaluates on the same arrays (data.load caches them per process). Copying them
into TensorFlow for each job cost 0.1 s in a lone process and up to 0.9 s beside another job (fresh pages for
190 MB of images); here each slice is copied once per process.
"""

from collections import OrderedDict
from typing import Any, Optional, Tuple

import numpy as np
import tensorflow as tf

KEPT = 8  # slices held: a sweep over data.limit in one worker would otherwise keep every subset alive
_copies: "OrderedDict[Tuple[int, int, Optional[int], Any], Tuple[np.ndarray, tf.Tensor]]" = OrderedDict()


def tensor(array: np.ndarray, start: int = 0, stop: Optional[int] = None, dtype: Any = None) -> tf.Tensor:
    """`array[start:stop]` (cast to `dtype`) as a TensorFlow constant, copied on the first request only."""
    key = (id(array), start, stop, dtype)
    held = _copies.get(key)
    if held is not None and held[0] is array:  # the very same array, not a new one at a reused address
        _copies.move_to_end(key)
        return held[1]
    part = array[start:stop]
    copy = tf.constant(part if dtype is None else part.astype(dtype))
    _copies[key] = (array, copy)
    while len(_copies) > KEPT:
        _copies.popitem(last=False)
    return copy
