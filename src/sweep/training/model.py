"""Turn the plain `reg`, `act` and `model` values into the study's Keras MLP."""

from typing import Any, List

import keras
import tensorflow as tf

from sweep.data import Shape
from sweep.training.dropout import HashDropout


def dropout(rate: float, speed: Any) -> keras.layers.Dropout:
    """Keras' Dropout, or with speed.dropout_rng=hash the same math with masks that XLA compiles well."""
    return HashDropout(rate) if speed.dropout_rng == "hash" else keras.layers.Dropout(rate)


def input_layers(reg: Any, speed: Any) -> List[keras.layers.Layer]:
    """The regularization layers in front of the Dense stack, in the order the study used."""
    make = {
        "flatten": lambda: keras.layers.Flatten(),
        "dropout": lambda: dropout(reg.dropout, speed),
        "batch_normalization": lambda: keras.layers.BatchNormalization(),
        # Kept for fidelity although it cannot act: on the raw input its penalty has no trainable gradient.
        "activity_regularization": lambda: keras.layers.ActivityRegularization(l1=reg.l1, l2=reg.l2),
    }
    return [make[name]() for name in reg.input_layers]


def hidden_block(reg: Any, act: Any, speed: Any, units: int, at_hidden: bool) -> List[keras.layers.Layer]:
    """One hidden Dense layer; with reg_at=hidden, its L1/L2 kernel penalty, then BatchNormalization, Dropout."""
    # act.name is any name keras.activations.get knows; leaky_relu's default slope is 0.2 like tf.nn.leaky_relu.
    if not at_hidden:
        return [keras.layers.Dense(units, activation=act.name)]
    penalty = keras.regularizers.L1L2(l1=reg.l1, l2=reg.l2) if reg.l1 or reg.l2 else None
    block = [keras.layers.Dense(units, activation=act.name, kernel_regularizer=penalty)]
    if "batch_normalization" in reg.input_layers:
        block.append(keras.layers.BatchNormalization())
    if "dropout" in reg.input_layers:
        block.append(dropout(reg.dropout, speed))
    return block


def jit_compile(net: keras.Model, setting: Any) -> Any:
    """The jit_compile for Keras: `per_model` means XLA unless the model has Keras' own Dropout and no GPU."""
    if setting != "per_model":
        return setting
    # XLA's random numbers make Keras' Dropout ~20x slower per epoch on a CPU (0.62 s -> 14 s measured on 2 cores);
    # HashDropout (speed.dropout_rng=hash) runs at 0.30 s under XLA.
    slow = any(type(layer) is keras.layers.Dropout for layer in net.layers)
    return not slow or bool(tf.config.list_physical_devices("GPU"))


def build(reg: Any, act: Any, model: Any, train: Any, speed: Any, shape: Shape) -> keras.Model:
    """Build and compile [regularizers] -> Flatten -> Dense hidden layers -> Dense softmax (one unit a class), Adam.

    The input is one normalized image of `shape.image`. model.reg_at=input keeps the study's exact stacks; hidden
    moves each regularizer onto the hidden layers.
    """
    at_hidden = model.reg_at == "hidden"
    front = [keras.layers.Flatten()] if at_hidden else input_layers(reg, speed)
    net = keras.Sequential([keras.Input(shape=shape.image), *front])
    for units in model.hidden:
        for layer in hidden_block(reg, act, speed, units, at_hidden):
            net.add(layer)
    net.add(keras.layers.Dense(shape.classes, activation="softmax"))
    net.compile(
        optimizer=keras.optimizers.Adam(learning_rate=train.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        # Same math, fewer Python round trips: XLA and several steps per compiled call (speed=study: defaults).
        # With loop=in_graph, XLA goes to the training loop (loop.fit) and evaluation runs without it: its three
        # batch shapes would compile three times (1.25 s) for 0.3 s of work.
        jit_compile=jit_compile(net, speed.jit_compile) if speed.loop == "keras" else False,
        steps_per_execution=speed.steps_per_execution,
    )
    return net
