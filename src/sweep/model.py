"""Turn the plain `reg`, `act` and `model` values into the study's Keras MLP."""

from typing import Any, List

import keras


def input_layers(reg: Any) -> List[keras.layers.Layer]:
    """The regularization layers in front of the Dense stack, in the order the study used."""
    make = {
        "flatten": lambda: keras.layers.Flatten(),
        "dropout": lambda: keras.layers.Dropout(reg.dropout),
        "batch_normalization": lambda: keras.layers.BatchNormalization(),
        # Kept for fidelity although it cannot act: on the raw input its penalty has no trainable gradient.
        "activity_regularization": lambda: keras.layers.ActivityRegularization(l1=reg.l1, l2=reg.l2),
    }
    return [make[name]() for name in reg.input_layers]


def build(reg: Any, act: Any, model: Any, train: Any) -> keras.Model:
    """Build and compile Flatten/regularizers -> Dense hidden layers -> Dense 10 softmax with Adam."""
    net = keras.Sequential([keras.Input(shape=(28, 28)), *input_layers(reg)])
    for units in model.hidden:
        # The string names map to keras.activations; leaky_relu's default slope is 0.2 like tf.nn.leaky_relu.
        net.add(keras.layers.Dense(units, activation=act.name))
    net.add(keras.layers.Dense(10, activation="softmax"))
    net.compile(
        optimizer=keras.optimizers.Adam(learning_rate=train.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return net
