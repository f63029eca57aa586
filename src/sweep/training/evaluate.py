"""The end-of-job metrics: loss and accuracy on the full train and test sets, fit time and best epoch."""

from typing import Any, Dict

import keras

from sweep.data import Dataset
from sweep.training import loop, resident


def _evaluate(net: keras.Model, x: Any, y: Any, speed: Any) -> list:
    if speed.loop == "in_graph":  # the same batches, without tf.data's stalls (loop.batches) or copies (resident)
        return net.evaluate(loop.batches((resident.tensor(x), resident.tensor(y)), speed.eval_batch_size), verbose=0)
    return net.evaluate(x, y, batch_size=speed.eval_batch_size, verbose=0)


def evaluate(net: keras.Model, ds: Dataset, history: Dict[str, list], fit_time: float, speed: Any) -> Dict[str, float]:
    """The end-of-job metrics: loss and accuracy on the full train and test sets, fit time, best epoch."""
    train_loss, train_accuracy = _evaluate(net, ds.x_train, ds.y_train, speed)
    test_loss, test_accuracy = _evaluate(net, ds.x_test, ds.y_test, speed)
    return {
        "train_loss": train_loss,
        "train_accuracy": train_accuracy,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        **from_history(history, fit_time),
    }


def from_history(history: Dict[str, list], fit_time: float) -> Dict[str, float]:
    """What the epochs alone tell: fit time, best epoch and its validation accuracy (all a pruned trial logs)."""
    best = max(range(len(history["val_accuracy"])), key=history["val_accuracy"].__getitem__)
    return {"fit_time_s": fit_time, "best_epoch": best + 1, "best_val_accuracy": history["val_accuracy"][best]}
