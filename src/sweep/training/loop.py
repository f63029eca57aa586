"""Keras' fit with the batches gathered inside one compiled loop (speed.loop=in_graph): same steps, less overhead.

Keras' own loop (speed.loop=keras) pulls every batch of 32 through tf.data and its threads, which costs about as much
as the step itself for this small MLP, and makes two parallel jobs fight over the cores. Here the training images sit
in memory once per worker process (sweep.resident), each epoch shuffles only their indices, and one compiled call runs
`speed.steps_per_execution` optimizer steps, gathering each batch of `train.batch_size` in the graph.
The math is the study's: the same split (the last `validation_split` of the data validates, as Keras' own
`validation_split` does), a fresh shuffle every epoch, one Adam step per batch of 32 with the last batch partial,
and the same batch-size-weighted epoch metrics.
Written by hand: Keras has no such loop; this follows its documented way to customize `train_step`.
"""

import math
from typing import Any, Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from sweep.training import model, resident


class InGraphLoop(keras.Model):
    """Trains `net` (whose weights it shares) on in-memory data, `steps` optimizer steps per compiled call."""

    def __init__(self, net: keras.Model, x: tf.Tensor, y: tf.Tensor, batch_size: int, steps: int, jit: bool):
        super().__init__()
        self.net = net
        self.batch_size, self.chunk = batch_size, steps * batch_size  # images per compiled call
        self._data = (x, y)  # in memory once, no copy per epoch
        self.order = tf.Variable(tf.range(len(x)), trainable=False)  # this epoch's image order (EpochOrder sets it)
        self._run_chunk = tf.function(self._chunk_steps, jit_compile=jit)

    def call(self, x: Any, training: bool = False) -> Any:
        return self.net(x, training=training)

    def _step(self, idx: Any) -> None:
        """One Adam step on the batch `idx`, updating the epoch's loss and accuracy as Keras' train_step does."""
        x, y = tf.gather(self._data[0], idx), tf.gather(self._data[1], idx)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)  # includes the layers' penalties
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        for metric in self.metrics:
            if metric.name == "loss":  # Keras' loss tracker: the epoch's mean, weighed by batch size
                metric.update_state(loss, sample_weight=tf.shape(idx)[0])
        self.compute_metrics(x, y, y_pred)  # the compiled metrics (accuracy)

    def _chunk_steps(self, idx: Any, full: Any) -> None:
        """`full` steps of `batch_size` on the (padded) index chunk: one compiled call, one shape, one compile."""

        def body(i: Any) -> Any:
            self._step(tf.slice(idx, [i * self.batch_size], [self.batch_size]))
            return i + 1

        tf.while_loop(lambda i: i < full, body, [tf.constant(0)])

    def train_step(self, data: Any) -> Dict[str, Any]:
        start = keras.utils.unpack_x_y_sample_weight(data)[0][0] * self.chunk  # the data are chunk numbers
        idx = self.order[start : tf.minimum(start + self.chunk, tf.shape(self.order)[0])]
        n = tf.shape(idx)[0]
        full = n // self.batch_size
        self._run_chunk(tf.pad(idx, [[0, self.chunk - n]]), full)

        def last_partial_batch() -> Any:  # once per epoch, outside the compiled loop: no second compile
            self._step(idx[full * self.batch_size :])
            return tf.constant(0)

        tf.cond(n > full * self.batch_size, last_partial_batch, lambda: tf.constant(0))
        return self.get_metrics_result()


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


def batches(arrays: Any, batch: Optional[int]) -> tf.data.Dataset:
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


def fit(
    net: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    train: Any,
    speed: Any,
    callbacks: List[Any],
    verbose: int,
    shuffle: bool = True,
) -> keras.callbacks.History:
    """`net.fit(x, y, validation_split=…, shuffle=…)` as the study called it, run through InGraphLoop.

    Returns Keras' History, whose `model` (the InGraphLoop) evaluates `net` with the test step that validation traced.
    """
    split_at = int(math.floor(len(x) * (1.0 - train.validation_split)))  # Keras' own rule for validation_split
    if not 0 < split_at < len(x):
        raise ValueError(f"train.validation_split={train.validation_split} leaves no training data (n={len(x)} images)")
    xla = model.jit_compile(net, speed.jit_compile)  # per_model: XLA unless Keras' own Dropout (on a CPU)
    train_x, train_y = resident.tensor(x, 0, split_at), resident.tensor(y, 0, split_at, np.int32)
    loop = InGraphLoop(net, train_x, train_y, train.batch_size, speed.steps_per_execution, xla)
    loop.compile(optimizer=net.optimizer, loss=net.loss, metrics=["accuracy"], jit_compile=False)
    return loop.fit(
        batches(np.arange(-(-split_at // loop.chunk), dtype=np.int32), batch=1),  # the epoch's chunk numbers
        epochs=train.epochs,
        validation_data=batches((resident.tensor(x, split_at), resident.tensor(y, split_at)), speed.eval_batch_size),
        callbacks=[EpochOrder(loop, train.seed, shuffle), *callbacks],
        verbose=verbose,
        shuffle=False,  # the data are chunk numbers, in order; EpochOrder shuffles the images
    )
