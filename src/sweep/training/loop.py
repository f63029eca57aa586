"""Keras' fit with the batches gathered inside one compiled loop (speed.loop=in_graph): same steps, less overhead.

Keras' own loop (speed.loop=keras) pulls every batch of 32 through tf.data and its threads, which costs about as much
as the step itself for this small MLP, and makes two parallel jobs fight over the cores. Here the training images sit
in memory once per worker process (sweep.resident), each epoch shuffles only their indices, and one compiled call runs
`speed.steps_per_execution` optimizer steps, gathering each batch of `train.batch_size` in the graph.
The loop trains one net, or several side by side on the same batches (sweep.training.ingraph).
The math is the study's: the same split (the last `validation_split` of the data validates, as Keras' own
`validation_split` does), a fresh shuffle every epoch, one Adam step per batch of 32 with the last batch partial,
and the same batch-size-weighted epoch metrics.
"""

import math
from typing import Any, List, Sequence

import keras
import numpy as np
import tensorflow as tf

from sweep.training import model, programs, resident
from sweep.training.ingraph import InGraphLoop, metric_names

__all__ = ["EpochOrder", "InGraphLoop", "batches", "fit", "metric_names", "prepared", "split"]


class EpochOrder(keras.callbacks.Callback):
    """Puts the training images in a new random order (seeded) at the start of every epoch."""

    def __init__(self, loop: InGraphLoop, seed: int, shuffle: bool):
        super().__init__()
        self.loop, self.shuffle = loop, shuffle
        self.rng = np.random.default_rng(seed)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        # One vectorized permutation per epoch, held in a variable: no Python generator or tf.data shuffle buffer
        # per chunk (a shuffle buffer cost up to 0.3 s per epoch on the second core, which the steps need)
        if self.shuffle:
            self.loop.order.assign(self.rng.permutation(self.loop.order.shape[0]).astype(np.int32))


def batches(arrays: Any, batch: Any) -> tf.data.Dataset:
    """In-memory batches of `batch` (None: Keras' default, 32), in order, without tf.data's autotuning or rewrites.

    Keras wraps arrays in a tf.data pipeline with AUTOTUNE prefetching. Measured on 2 cores, starting its iterator
    stalled one epoch in two or three by 0.6-0.9 s (a 0.6 s epoch took 1.25 s), alone or beside another job.
    tf.data's default graph rewrites serialize the pipeline, images included, every time an iterator starts:
    0.08 s for the 60k training images alone, 0.5 s beside another job; none of them applies to slicing and batching.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    return tf.data.Dataset.from_tensor_slices(arrays).batch(batch or 32).with_options(options)


def split(n: int, validation_split: float) -> int:
    """Where the validation images start: Keras' own rule for validation_split."""
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if not 0 < split_at < n:
        raise ValueError(f"train.validation_split={validation_split} leaves no training data (n={n} images)")
    return split_at


def prepared(nets: Sequence[keras.Model], x: np.ndarray, y: np.ndarray, train: Any, speed: Any, key: Any) -> Any:
    """The loop for `nets`: this process's compiled one for `key` with their weights loaded, else a new one."""
    cached = programs.take(key, nets) if key is not None else None
    if cached is not None:
        return cached
    split_at = split(len(x), train.validation_split)
    xla = model.jit_compile(nets[0], speed.jit_compile)  # per_model: XLA unless Keras' own Dropout (on a CPU)
    train_x, train_y = resident.tensor(x, 0, split_at), resident.tensor(y, 0, split_at, np.int32)
    loop = InGraphLoop(nets, train_x, train_y, train.batch_size, speed.steps_per_execution, xla)
    for net in nets:  # each net's own Adam, built now: compile must not build one optimizer over every net
        net.optimizer.build(net.trainable_variables)
    loop.compile(optimizer=nets[0].optimizer, jit_compile=False)
    return programs.keep(key, loop) if key is not None else loop


def fit(
    nets: Sequence[keras.Model],
    x: np.ndarray,
    y: np.ndarray,
    train: Any,
    speed: Any,
    callbacks: List[Any],
    verbose: int,
    shuffle: bool = True,
    key: Any = None,
) -> keras.callbacks.History:
    """`net.fit(x, y, validation_split=…, shuffle=…)` as the study called it, for each of `nets`, in one loop.

    `key` (the cells' identity, sweep.training.programs) reuses this process's compiled loop for the same cells.
    Returns Keras' History, whose `model` (the InGraphLoop) evaluates the nets with the test step validation traced;
    the trained weights are in `nets` (copied back from a reused loop's own).
    """
    split_at = split(len(x), train.validation_split)
    loop = prepared(nets, x, y, train, speed, key)
    fitted = loop.fit(
        batches(np.arange(-(-split_at // loop.chunk), dtype=np.int32), batch=1),  # the epoch's chunk numbers
        epochs=train.epochs,
        validation_data=batches((resident.tensor(x, split_at), resident.tensor(y, split_at)), speed.eval_batch_size),
        callbacks=[EpochOrder(loop, train.seed, shuffle), *callbacks],
        verbose=verbose,
        shuffle=False,  # the data are chunk numbers, in order; EpochOrder shuffles the images
    )
    programs.give_back(loop, nets)
    return fitted
