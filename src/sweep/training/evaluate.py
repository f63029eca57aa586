"""The end-of-job metrics: loss and accuracy on the full train and test sets, fit time and best epoch."""

from typing import Any, Dict, List, Sequence

import keras

from sweep.data import Dataset
from sweep.training import loop, resident


def _evaluate(net: keras.Model, x: Any, y: Any, speed: Any, **kwargs: Any) -> Any:
    if speed.loop == "in_graph":  # the same batches, without tf.data's stalls (loop.batches) or copies (resident)
        batches = loop.batches((resident.tensor(x), resident.tensor(y)), speed.eval_batch_size)
        return net.evaluate(batches, verbose=0, **kwargs)
    return net.evaluate(x, y, batch_size=speed.eval_batch_size, verbose=0, **kwargs)


def _final(losses: Sequence[float], history: Dict[str, list], fit_time: float) -> Dict[str, float]:
    train_loss, train_accuracy, test_loss, test_accuracy = losses
    return {
        "train_loss": train_loss,
        "train_accuracy": train_accuracy,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        **from_history(history, fit_time),
    }


def evaluate(net: keras.Model, ds: Dataset, history: Dict[str, list], fit_time: float, speed: Any) -> Dict[str, float]:
    """The end-of-job metrics: loss and accuracy on the full train and test sets, fit time, best epoch."""
    losses = [*_evaluate(net, ds.x_train, ds.y_train, speed), *_evaluate(net, ds.x_test, ds.y_test, speed)]
    return _final(losses, history, fit_time)


def evaluate_cells(
    fused: keras.Model, ds: Dataset, histories: Sequence[Dict[str, list]], fit_time: float, speed: Any
) -> List[Dict[str, float]]:
    """evaluate() for each net of a fused loop, all in one pass over the same batches."""
    train = _evaluate(fused, ds.x_train, ds.y_train, speed, return_dict=True)
    test = _evaluate(fused, ds.x_test, ds.y_test, speed, return_dict=True)
    names = loop.metric_names(len(histories))
    pairs = [[part[name] for part in (train, test) for name in names[2 * i : 2 * i + 2]] for i in range(len(histories))]
    return [_final(losses, history, fit_time) for losses, history in zip(pairs, histories, strict=True)]


def from_history(history: Dict[str, list], fit_time: float) -> Dict[str, float]:
    """What the epochs alone tell: fit time, best epoch and its validation accuracy (all a pruned trial logs)."""
    best = max(range(len(history["val_accuracy"])), key=history["val_accuracy"].__getitem__)
    return {"fit_time_s": fit_time, "best_epoch": best + 1, "best_val_accuracy": history["val_accuracy"][best]}
