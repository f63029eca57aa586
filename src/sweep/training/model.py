"""Compile the cell's net (built by sweep.models: the study's MLP, the CNN or a user's builder) as the study did."""

from typing import Any, Optional, Tuple

import keras
import tensorflow as tf
from omegaconf import OmegaConf

from sweep.config import fusion
from sweep.data import Shape
from sweep.models import builders


def jit_compile(net: keras.Model, setting: Any) -> Any:
    """The jit_compile for Keras: `per_model` means XLA unless, with no GPU, the model has Keras' own Dropout or a
    convolution."""
    if setting != "per_model":
        return setting
    # XLA's random numbers make Keras' Dropout ~20x slower per epoch on a CPU (0.62 s -> 14 s measured on 2 cores);
    # HashDropout (speed.dropout_rng=hash) runs at 0.30 s under XLA. XLA's CPU convolutions are ~3.7x slower than
    # TensorFlow's oneDNN ones (the cnn's steady epoch: 14.2 s with XLA, 3.8 s without; docs/speed.md).
    slow = any(type(layer) is keras.layers.Dropout or isinstance(layer, keras.layers.Conv2D) for layer in _all(net))
    return not slow or bool(tf.config.list_physical_devices("GPU"))


def _all(net: keras.Model) -> list:
    """Every layer of a model, those of nested models (a user's builder may nest them) included."""
    return [inner for layer in net.layers for inner in (_all(layer) if isinstance(layer, keras.Model) else [layer])]


def speed_for(cfg: Any) -> Tuple[Any, Optional[str]]:
    """The speed settings the cell trains with, and why they differ from its config's (None when they do not).

    The in-graph loop is proven exact for the MLP family only; any other model trains with Keras' fit.
    """
    if cfg.speed.loop != "in_graph" or fusion.in_graph(cfg.model):
        return cfg.speed, None
    speed = OmegaConf.create({**OmegaConf.to_container(cfg.speed, resolve=True), "loop": "keras"})
    name = cfg.model.get("name")
    return speed, f"model={name} trains with Keras' fit, unfused: the fused in-graph loop handles the MLP family only"


def compile(net: keras.Model, train: Any, speed: Any) -> keras.Model:
    """Compile `net` with Adam at train.learning_rate, sparse categorical cross-entropy and accuracy."""
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


def build(reg: Any, act: Any, model: Any, train: Any, speed: Any, shape: Shape) -> keras.Model:
    """The model option's net for normalized images of `shape.image` (sweep.models), compiled for `speed`."""
    return compile(builders.build(model, act.name, reg, speed.dropout_rng, shape), train, speed)
