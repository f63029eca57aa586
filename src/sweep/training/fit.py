"""Fit one model as the study did (validation_split), per-epoch metrics logged, stopping on a signal or a NaN loss."""

import math
from typing import Any, Dict, Optional, Sequence

import keras

from sweep.data import Dataset
from sweep.process import signals
from sweep.tracking import epochs
from sweep.training import loop


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite; training was stopped at once."""


class StopOnSignal(keras.callbacks.Callback):
    """End training at the next batch once Ctrl-C or SIGTERM has arrived."""

    def on_train_batch_end(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        if signals.interrupted.is_set():
            self.model.stop_training = True


def fit(
    net: keras.Model,
    ds: Dataset,
    train: Any,
    speed: Any,
    shown: list,
    verbose: int,
    extra: Sequence[Any] = (),
    key: Any = None,
) -> keras.callbacks.History:
    """Fit as the study did (validation_split), logging each epoch; stop at once if the loss diverges.

    `shown` are the callbacks that print progress, `verbose` Keras' own (sweep.training.progress chooses both);
    `key` reuses this process's compiled loop for the same cell (sweep.training.programs).

    Returns Keras' History: `.history` per epoch, `.model` the model whose evaluate() the job calls (for
    speed.loop=in_graph the loop, whose test step validation traced already: no second trace, ~0.2 s a job).
    `extra` callbacks run after those (a search trial's ReportToTrial).
    """
    callbacks = [epochs.EpochMetrics(), keras.callbacks.TerminateOnNaN(), StopOnSignal(), *extra, *shown]
    with signals.deferred():  # Ctrl-C/SIGTERM stop training at a batch boundary, then interrupt the job
        if speed.loop == "in_graph":
            fitted = loop.fit([net], ds.x_train, ds.y_train, train, speed, callbacks, verbose, key=key)
        else:  # Keras' own loop, as the notebook called it
            fitted = net.fit(
                ds.x_train,
                ds.y_train,
                epochs=train.epochs,
                batch_size=train.batch_size,
                validation_split=train.validation_split,
                validation_batch_size=speed.eval_batch_size,  # evaluation only: training batches stay 32
                callbacks=callbacks,
                verbose=verbose,
            )
    problem = diverged(fitted.history, train)
    if problem:
        raise problem
    return fitted


def diverged(history: Dict[str, list], train: Any) -> Optional[DivergedError]:
    """The error to end a cell with if its training loss became NaN or infinite, else None."""
    if all(math.isfinite(v) for v in history["loss"]):
        return None
    return DivergedError(
        f"the training loss became {history['loss'][-1]} in epoch {len(history['loss'])}; "
        f"training was stopped (train.learning_rate={train.learning_rate})"
    )
