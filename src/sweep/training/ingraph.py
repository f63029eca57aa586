"""The compiled training program of speed.loop=in_graph: one or several nets, their batches gathered in the graph.

Several nets (cells fused by the launcher: sweep.training.fused) train side by side on the same batches, each with
its own weights, loss, Adam and metrics; the summed loss's gradient for a net is its own loss's gradient, so no
net's math depends on another's (a NaN in one stays in its own weights). sweep.training.loop drives it.
Written by hand: Keras has no such loop; this follows its documented way to customize `train_step`.
"""

from typing import Any, Dict, List, Sequence

import keras
import tensorflow as tf


def metric_names(cells: int) -> List[str]:
    """The loop's metric names: Keras' own `loss` and `accuracy` for one net, `loss_<i>`, `accuracy_<i>` for several."""
    if cells == 1:
        return ["loss", "accuracy"]
    return [f"{name}_{i}" for i in range(cells) for name in ("loss", "accuracy")]


class InGraphLoop(keras.Model):
    """Trains `nets` (whose weights it shares) on in-memory data, `steps` optimizer steps per compiled call."""

    def __init__(self, nets: Sequence[keras.Model], x: tf.Tensor, y: tf.Tensor, batch_size: int, steps: int, jit: bool):
        super().__init__()
        self.nets = list(nets)
        self.batch_size, self.chunk = batch_size, steps * batch_size  # images per compiled call
        self._data = (x, y)  # in memory once, no copy per epoch
        self.order = tf.Variable(tf.range(len(x)), trainable=False)  # this epoch's image order (EpochOrder sets it)
        names = iter(metric_names(len(self.nets)))
        # Keras' loss tracker (the epoch's mean, weighed by batch size) and its accuracy for sparse labels, per net
        self.cell_metrics = [
            (keras.metrics.Mean(name=next(names)), keras.metrics.SparseCategoricalAccuracy(name=next(names)))
            for _ in self.nets
        ]
        self._run_chunk = tf.function(self._chunk_steps, jit_compile=jit)
        self.built = True  # the nets are built; nothing to infer from a batch

    @property
    def metrics(self) -> List[Any]:
        return [metric for pair in self.cell_metrics for metric in pair]

    def call(self, x: Any, training: bool = False) -> Any:
        outputs = [net(x, training=training) for net in self.nets]
        return outputs[0] if len(outputs) == 1 else outputs

    def _forward(self, x: Any, y: Any, training: bool) -> "tuple[List[Any], List[Any]]":
        """Each net's predictions and loss: its compiled loss plus its layers' penalties, as Keras computes it."""
        y_preds = [net(x, training=training) for net in self.nets]
        pairs = zip(self.nets, y_preds, strict=True)
        return y_preds, [net.compute_loss(x=x, y=y, y_pred=p, training=training) for net, p in pairs]

    def _update(self, y: Any, y_preds: List[Any], losses: List[Any]) -> None:
        for (loss_metric, accuracy), y_pred, loss in zip(self.cell_metrics, y_preds, losses, strict=True):
            loss_metric.update_state(loss, sample_weight=tf.shape(y)[0])
            accuracy.update_state(y, y_pred)

    def _step(self, idx: Any) -> None:
        """One Adam step of every net on the batch `idx`, updating the epoch's metrics as Keras' train_step does."""
        x, y = tf.gather(self._data[0], idx), tf.gather(self._data[1], idx)
        with tf.GradientTape() as tape:
            y_preds, losses = self._forward(x, y, training=True)
            total = tf.add_n(losses)  # its gradient for each net's weights is that net's own loss's
        grads = tape.gradient(total, [net.trainable_weights for net in self.nets])
        for net, net_grads in zip(self.nets, grads, strict=True):
            net.optimizer.apply_gradients(zip(net_grads, net.trainable_weights, strict=True))
        self._update(y, y_preds, losses)

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

    def test_step(self, data: Any) -> Dict[str, Any]:
        x, y = keras.utils.unpack_x_y_sample_weight(data)[:2]
        y_preds, losses = self._forward(x, y, training=False)
        self._update(y, y_preds, losses)
        return self.get_metrics_result()
