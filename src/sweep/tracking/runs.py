"""MLflow writes of one job: its run, params, per-epoch metrics, plots and config files."""

import json
import logging
import os
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional

import keras
import matplotlib.pyplot as plt
import mlflow

from sweep.tracking import liveness, store

TAG_FAILURE = "failure_reason"

# TensorFlow warns of "retracing" once a worker's jobs have traced Keras' functions a few times: each job builds a
# new model, so its functions are traced anew by design.
logging.getLogger("tensorflow").setLevel(logging.ERROR)
# MLflow's async logging thread polls its queue with a 1 s timeout, and ending a run waits for that poll to time out:
# 0.95 s per run here. With buffering on, the thread waits on the stop event instead: ending a run took 0.015 s.
os.environ.setdefault("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS", "1")


def job_experiment(uri: str, name: str) -> str:
    """The job's experiment id: handed over by the multirun parent, else set up here (and dead runs reaped)."""
    experiment_id = os.environ.get(store.ENV_EXPERIMENT)
    if not experiment_id:  # a single job outside -m
        experiment_id = store.prepare_experiment(uri, name)
        liveness.reap(uri, experiment_id)
    return experiment_id


@contextmanager
def job_run(uri: str, experiment_id: str, run_name: str, tags: Mapping[str, str]) -> Iterator[Any]:
    """A job's run (child of the sweep's parent under -m): FAILED with its reason on error, KILLED on interrupt."""
    mlflow.set_tracking_uri(uri)
    extra = json.loads(os.environ.get(store.ENV_JOB_TAGS) or "{}")  # set by a sweeper around this job
    all_tags = {store.TAG_ROLE: "job", **liveness.owner_tags(), **extra, **tags}
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=run_name, tags=all_tags, parent_run_id=os.environ.get(store.ENV_PARENT)
    ) as run:
        try:
            yield run
        except KeyboardInterrupt:
            mlflow.set_tag(liveness.TAG_END_REASON, "interrupted (Ctrl-C or SIGTERM)")
            mlflow.end_run("KILLED")
            raise
        except Exception as exc:
            mlflow.set_tag(TAG_FAILURE, f"{type(exc).__name__}: {exc}"[:5000])
            mlflow.log_text(traceback.format_exc(), "failure/traceback.txt")
            raise  # start_run's exit marks the run FAILED


def flatten(tree: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Flatten nested config values to dotted keys ({'train': {'epochs': 12}} -> {'train.epochs': 12})."""
    flat: Dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class EpochMetrics(keras.callbacks.Callback):
    """Log each epoch's loss, accuracy, val_loss, val_accuracy and epoch_time_s in one call (step = epoch, from 1).

    The call is asynchronous (batched each second): training goes on while MLflow writes; ending the run waits for
    every point.
    """

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        values = {k: float(v) for k, v in (logs or {}).items()}
        values["epoch_time_s"] = time.perf_counter() - self.started
        mlflow.log_metrics(values, step=epoch + 1, synchronous=False)


def log_params(params: Mapping[str, Any]) -> None:
    """Log the flattened config (and the option names) as the run's params, in one call."""
    mlflow.log_params(dict(params))


def log_final(metrics: Mapping[str, float]) -> None:
    """Log the end-of-job metrics (train/test loss and accuracy, fit time) in one call."""
    mlflow.log_metrics({k: float(v) for k, v in metrics.items()})


def log_figures(figures: Mapping[str, Any]) -> None:
    """Log matplotlib figures as PNG artifacts under plots/, then free them."""
    for name, fig in figures.items():
        mlflow.log_figure(fig, f"plots/{name}.png")
        plt.close(fig)


def log_config_files(config_dir: Optional[Path]) -> None:
    """Log Hydra's config.yaml, hydra.yaml and overrides.yaml of the job under hydra/."""
    if config_dir is not None and config_dir.is_dir():
        mlflow.log_artifacts(str(config_dir), "hydra")
