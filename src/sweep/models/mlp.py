"""The study's MLP: [regularizers] -> Flatten -> Dense hidden layers -> Dense softmax (one unit a class)."""

from typing import List, Sequence, Tuple

import keras

from sweep.models import layers
from sweep.models.contract import Reg


def hidden_block(reg: Reg, act: str, units: int, at_hidden: bool) -> List[keras.layers.Layer]:
    """One hidden Dense layer; with reg_at=hidden, its L1/L2 kernel penalty, then BatchNormalization, Dropout."""
    # act is any name keras.activations.get knows; leaky_relu's default slope is 0.2 like tf.nn.leaky_relu.
    return layers.dense_block(units, act, reg) if at_hidden else [keras.layers.Dense(units, activation=act)]


def build(
    input_shape: Tuple[int, ...], n_classes: int, act: str, reg: Reg, hidden: Sequence[int], reg_at: str
) -> keras.Model:
    """The study's MLP on images of `input_shape`: reg_at=input keeps its exact stacks, hidden moves each
    regularizer onto the hidden layers (sweep.models.layers)."""
    at_hidden = reg_at == "hidden"
    front = [keras.layers.Flatten()] if at_hidden else layers.input_layers(reg)
    net = keras.Sequential([keras.Input(shape=input_shape), *front])
    for units in hidden:
        for layer in hidden_block(reg, act, units, at_hidden):
            net.add(layer)
    net.add(keras.layers.Dense(n_classes, activation="softmax"))
    return net
