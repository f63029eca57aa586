"""A user's model builder for sweep (docs/models.md): a small functional CNN built from sweep's layer recipes.

sweep passes the keyword arguments this function declares: input_shape, n_classes, act and reg, and the option's
own keys (model/mine.yaml: width, blocks). It returns an uncompiled keras.Model ending in a softmax.
"""

import keras

from sweep.models import layers


def build(input_shape, n_classes, act, reg, width=64, blocks=1):
    """`blocks` conv blocks of 16 filters, a Dense block of `width` units, a softmax over the classes."""
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Reshape((*input_shape, 1))(inputs) if len(input_shape) == 2 else inputs
    for _ in range(blocks):
        x = layers.apply(layers.conv_block(16, 3, act, reg), x)  # act and reg placed as the built-in CNN does
    x = keras.layers.Flatten()(x)
    x = layers.apply(layers.dense_block(width, act, reg), x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))
