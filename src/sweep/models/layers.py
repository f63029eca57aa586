"""The study's layer recipes, for the built-in models and for a user's builder: `act` and `reg` applied one way.

Each reg option has one place in a block: L1/L2 as the kernel regularizer of its Dense or Conv2D layer, then
BatchNormalization, then Dropout (when the option's input_layers name them). `input_layers` is the study's own
input-level stack (regularizers in front of Flatten), which the MLP keeps with model.reg_at=input.
A block is a list of layers: add them to a Sequential model, or call `apply(block, x)` in a functional one.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, List, Optional

import keras

from sweep.models.contract import Reg
from sweep.models.dropout import HashDropout

_rng: ContextVar[str] = ContextVar("dropout_rng", default="keras")


@contextmanager
def dropout_rng(kind: str) -> Iterator[None]:
    """Inside, `dropout` makes speed.dropout_rng's layer: `hash` (HashDropout, fast under XLA) or Keras' own."""
    token = _rng.set(kind)
    try:
        yield
    finally:
        _rng.reset(token)


def dropout(rate: float) -> keras.layers.Dropout:
    """Keras' Dropout, or with speed.dropout_rng=hash the same math with masks that XLA compiles well."""
    return HashDropout(rate) if _rng.get() == "hash" else keras.layers.Dropout(rate)


def penalty(reg: Reg) -> Optional[keras.regularizers.Regularizer]:
    """The reg option's L1/L2 as a kernel regularizer (None when both are 0)."""
    return keras.regularizers.L1L2(l1=reg.l1, l2=reg.l2) if reg.l1 or reg.l2 else None


def after(reg: Reg) -> List[keras.layers.Layer]:
    """What follows a block's weights: BatchNormalization, then Dropout, as the reg option names them."""
    block: List[keras.layers.Layer] = []
    if "batch_normalization" in reg.input_layers:
        block.append(keras.layers.BatchNormalization())
    if "dropout" in reg.input_layers:
        block.append(dropout(reg.dropout))
    return block


def dense_block(units: int, act: Any, reg: Reg) -> List[keras.layers.Layer]:
    """A Dense layer with `act` and the L1/L2 kernel penalty, then BatchNormalization and Dropout."""
    return [keras.layers.Dense(units, activation=act, kernel_regularizer=penalty(reg)), *after(reg)]


def conv_block(filters: int, kernel: int, act: Any, reg: Reg, pool: int = 2) -> List[keras.layers.Layer]:
    """A same-padded Conv2D with `act` and the L1/L2 kernel penalty, max pooling, then BatchNormalization, Dropout."""
    conv = keras.layers.Conv2D(filters, kernel, padding="same", activation=act, kernel_regularizer=penalty(reg))
    return [conv, keras.layers.MaxPooling2D(pool, padding="same"), *after(reg)]


def input_layers(reg: Reg) -> List[keras.layers.Layer]:
    """The study's regularization layers in front of the Dense stack, in the order the reg option lists them."""
    make = {
        "flatten": lambda: keras.layers.Flatten(),
        "dropout": lambda: dropout(reg.dropout),
        "batch_normalization": lambda: keras.layers.BatchNormalization(),
        # Kept for fidelity although it cannot act: on the raw input its penalty has no trainable gradient.
        "activity_regularization": lambda: keras.layers.ActivityRegularization(l1=reg.l1, l2=reg.l2),
    }
    return [make[name]() for name in reg.input_layers]


def apply(block: List[keras.layers.Layer], x: Any) -> Any:
    """Call a block's layers in turn on `x` (a functional model's tensor)."""
    for layer in block:
        x = layer(x)
    return x
