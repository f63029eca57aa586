"""Keras' fit with the batches gathered inside one compiled loop (speed.loop=in_graph): same steps, less overhead.

Keras' own loop (speed.loop=keras) pulls every batch of 32 through tf.data and its threads, which costs about as much
as the step itself for this small MLP, and makes two parallel jobs fight over the cores. Here the training images sit
in memory once per job, each epoch shuffles only their indices, and one compiled call runs
`speed.steps_per_execution` optimizer steps, gathering each batch of `train.batch_size` in the graph.
The math is the study's: the same split (the last `validation_split` of the data validates, as Keras' own
`validation_split` does), a fresh shuffle every epoch, one Adam step per batch of 32 with the last batch partial,
and the same batch-size-weighted epoch metrics.
Written by hand: Keras has no such loop; this follows its documented way to customize `train_step`.
"""

import math
from typing import Any, Dict, List

import keras
import numpy as np
import tensorflow as tf

from sweep import model


class InGraphLoop(keras.Model):
    """Trains `net` (whose weights it shares) on in-memory data, `steps` optimizer steps per compiled call."""

    def __init__(self, net: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int, steps: int, jit: bool):
        super().__init__()
        self.net = net
        self.batch_size, self.steps = batch_size, steps
        self._data = (tf.constant(x), tf.constant(y.astype(np.int32)))  # one copy per job, none per epoch
        self._chunk = tf.function(self._chunk_steps, jit_compile=jit)

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
        idx = keras.utils.unpack_x_y_sample_weight(data)[0]
        n = tf.shape(idx)[0]
        full = n // self.batch_size
        self._chunk(tf.pad(idx, [[0, self.steps * self.batch_size - n]]), full)

        def last_partial_batch() -> Any:  # once per epoch, outside the compiled loop: no second compile
            self._step(idx[full * self.batch_size :])
            return tf.constant(0)

        tf.cond(n > full * self.batch_size, last_partial_batch, lambda: tf.constant(0))
        return self.get_metrics_result()


class EpochOrder(keras.utils.PyDataset):
    """The training images' indices in chunks of `chunk`, in a new random order every epoch (seeded)."""

    def __init__(self, n: int, chunk: int, seed: int, shuffle: bool):
        super().__init__()
        self.n, self.chunk, self.shuffle = n, chunk, shuffle
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return -(-self.n // self.chunk)

    def __getitem__(self, i: int) -> tuple:
        return (self.order[i * self.chunk : (i + 1) * self.chunk],)

    def on_epoch_end(self) -> None:
        # One vectorized permutation per epoch: tf.data's element-wise shuffle buffer cost up to 0.3 s per epoch
        # on the second core, which the training step needs.
        self.order = (self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)).astype(np.int32)


def fit(
    net: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    train: Any,
    speed: Any,
    callbacks: List[Any],
    verbose: int,
    shuffle: bool = True,
) -> Dict[str, list]:
    """`net.fit(x, y, validation_split=…, shuffle=…)` as the study called it, run through InGraphLoop; the history."""
    split_at = int(math.floor(len(x) * (1.0 - train.validation_split)))  # Keras' own rule for validation_split
    if not 0 < split_at < len(x):
        raise ValueError(f"train.validation_split={train.validation_split} leaves no training data (n={len(x)} images)")
    xla = model.jit_compile(net, speed.jit_compile)  # per_model: XLA unless the stack has Dropout (on a CPU)
    loop = InGraphLoop(net, x[:split_at], y[:split_at], train.batch_size, speed.steps_per_execution, xla)
    loop.compile(optimizer=net.optimizer, loss=net.loss, metrics=["accuracy"], jit_compile=False)
    order = EpochOrder(split_at, train.batch_size * speed.steps_per_execution, train.seed, shuffle)
    return loop.fit(
        order,
        epochs=train.epochs,
        shuffle=False,  # EpochOrder shuffles the images; Keras would only reorder its chunks
        validation_data=(x[split_at:], y[split_at:]),
        validation_batch_size=speed.eval_batch_size,
        callbacks=callbacks,
        verbose=verbose,
    ).history
