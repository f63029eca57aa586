"""A small CNN: conv blocks (Conv2D, max pooling), Flatten, a Dense block, Dense softmax (one unit a class).

`act` is every Conv2D's and the hidden Dense layer's activation; the reg option sits in each block as
sweep.models.layers places it (L1/L2 as kernel regularizers, BatchNormalization and Dropout after each block).
The study's input-level layers (ActivityRegularization on the raw input) have no place here: they cannot act.
"""

from typing import Sequence, Tuple

import keras

from sweep.models import layers
from sweep.models.contract import Reg


def build(
    input_shape: Tuple[int, ...], n_classes: int, act: str, reg: Reg, filters: Sequence[int], kernel: int, dense: int
) -> keras.Model:
    """The CNN on images of `input_shape` (height, width[, channels]): one conv block per entry of `filters`."""
    if len(input_shape) not in (2, 3):
        raise ValueError(f"model=cnn needs images of 2 or 3 dimensions (height, width[, channels]), got {input_shape}")
    net = keras.Sequential([keras.Input(shape=input_shape)])
    if len(input_shape) == 2:  # grey images as stored: one channel
        net.add(keras.layers.Reshape((*input_shape, 1)))
    for width in filters:
        for layer in layers.conv_block(width, kernel, act, reg):
            net.add(layer)
    net.add(keras.layers.Flatten())
    for layer in layers.dense_block(dense, act, reg):
        net.add(layer)
    net.add(keras.layers.Dense(n_classes, activation="softmax"))
    return net
