"""What a trained net is, as one string: the hash of its weights, equal only when two trainings ended bit-identical.

Two cells whose nets end with the same weights at every seed are the same experiment under two names (the study's
input-level `l1` and `l2` train exactly as `none`: their penalty has no gradient to any weight). The race reads this
hash from each job's run (tag `weights_hash`) to race such twins as one instead of paying for each.
"""

import hashlib

import keras
import numpy as np


def weights_hash(net: keras.Model) -> str:
    """SHA-256 (first 16 hex digits) over every weight of the net, trainable or not, in layer order, with shapes."""
    digest = hashlib.sha256()
    for weight in net.weights:  # BatchNormalization's moving statistics too: they shape the predictions
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(repr((value.dtype.str, value.shape)).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]
