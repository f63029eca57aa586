"""A job's per-epoch metrics, logged to its run as training goes (a Keras callback)."""

import os
import time
from typing import Any, Dict, List, Optional

import keras
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, RunTag

from sweep.process import timeline
from sweep.tracking import liveness


class EpochMetrics(keras.callbacks.Callback):
    """Log each epoch's loss, accuracy, val_loss, val_accuracy and epoch_time_s in one call (step = epoch, from 1).

    The call is asynchronous (batched each second): training goes on while MLflow writes, retrying through an
    outage. The end of training waits for every call and raises if one failed: MLflow's queue only logs such an
    error, and the run would end FINISHED without those points.
    """

    def __init__(self, run_id: Optional[str] = None) -> None:
        super().__init__()
        self.run_id = run_id  # None: the active run; a fused job's cells log to their own
        self.pending: List[Any] = []

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        if epoch == 0:
            timeline.mark("job: training (epoch 1 begins)")
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        values = {k: float(v) for k, v in (logs or {}).items()}
        values["epoch_time_s"] = time.perf_counter() - self.started
        self.pending.append(self._log(values, epoch + 1))
        if epoch == 0 and os.environ.get(timeline.ENV):  # benchmarks/startup.py: when they reached the store
            self.pending[-1].wait()
            timeline.mark("job: epoch 1's metrics in the store")

    def _log(self, values: Dict[str, float], step: int) -> Any:
        """The epoch's metrics and the run's heartbeat (sweep.tracking.liveness: alive now, silent for 2 epochs + 60 s
        at most: the next epoch, or the evaluation and model logging after the last) in one asynchronous call."""
        now, run_id = int(time.time() * 1000), self.run_id or mlflow.active_run().info.run_id
        metrics = [Metric(key, value, now, step) for key, value in values.items()]
        tags = [RunTag(k, v) for k, v in liveness.heartbeat_tags(2 * values["epoch_time_s"] + 60).items()]
        return MlflowClient(mlflow.get_tracking_uri()).log_batch(run_id, metrics, tags=tags, synchronous=False)

    def on_train_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        pending, self.pending = self.pending, []
        for operation in pending:
            operation.wait()  # re-raises the error of a call that failed
