"""MLflow writes of one job: its run, params, per-epoch metrics, plots and config files."""

import logging
import os
import tempfile
import traceback
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional

import matplotlib.pyplot as plt
import mlflow

from sweep.tracking import liveness, retries, secrets, store

TAG_FAILURE = "failure_reason"

# TensorFlow warns of "retracing" once a worker's jobs have traced Keras' functions a few times: each job builds a
# new model, so its functions are traced anew by design.
logging.getLogger("tensorflow").setLevel(logging.ERROR)
# MLflow's async logging thread polls its queue with a 1 s timeout, and ending a run waits for that poll to time out:
# 0.95 s per run here. With buffering on, the thread waits on the stop event instead: ending a run took 0.015 s.
os.environ.setdefault("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS", "1")


class RunKilled(RuntimeError):
    """The job stopped for a reason that is not its own failure; its run ends KILLED with this message as reason."""


def job_experiment(uri: str, name: str) -> str:
    """The job's experiment id: handed over by the multirun parent, else set up here (and dead runs reaped)."""
    experiment_id = os.environ.get(store.ENV_EXPERIMENT)
    if not experiment_id:  # a single job outside -m
        experiment_id = store.prepare_experiment(uri, name)
        liveness.reap(uri, experiment_id)
    return experiment_id


@contextmanager
def job_run(
    uri: str, experiment_id: str, run_name: str, tags: Mapping[str, str], run_id: Optional[str] = None
) -> Iterator[Any]:
    """A job's run (child of the sweep's parent under -m): FAILED with its reason on error, KILLED on interrupt.

    With `run_id`, the run detached.open_job_run created, resumed (its tags are set already).

    When the store stayed down past the retry budget, the job fails with a StoreError that says so, after one
    quick try at ending its run (never a second wait of minutes); a later sweep command marks the run KILLED.
    """
    mlflow.set_tracking_uri(uri)
    owner = {**liveness.owner_tags(), **liveness.heartbeat_tags()}
    all_tags = {store.TAG_ROLE: "job", **owner, **store.sweeper_tags(), **tags}
    parent = os.environ.get(store.ENV_PARENT)
    # `explained` outermost: a fail-fast entered on an outage lasts through start_run's end_run, not past it
    with retries.explained(uri), ExitStack() as ending:
        if run_id:
            started = mlflow.start_run(run_id=run_id)
        else:
            started = mlflow.start_run(
                experiment_id=experiment_id, run_name=run_name, tags=all_tags, parent_run_id=parent
            )
        with started as run:
            try:
                liveness.drop_copies(uri, run)
                yield run
            except KeyboardInterrupt:
                mlflow.set_tag(liveness.TAG_END_REASON, "interrupted (Ctrl-C or SIGTERM)")
                mlflow.end_run("KILLED")
                raise
            except RunKilled as exc:
                mlflow.set_tag(liveness.TAG_END_REASON, str(exc))
                mlflow.end_run("KILLED")
                raise
            except Exception as exc:
                if retries.unreachable(exc):
                    ending.enter_context(retries.fail_fast())
                _record_failure(exc)
                raise  # start_run's exit marks the run FAILED


def _record_failure(exc: Exception) -> None:
    """Tag the run with the error and attach its traceback, secrets masked; never hide the error itself."""
    try:
        mlflow.set_tag(TAG_FAILURE, secrets.redact(f"{type(exc).__name__}: {exc}")[:5000])
        mlflow.log_text(secrets.redact(traceback.format_exc()), "failure/traceback.txt")
    except Exception as failed:  # noqa: BLE001 - the store itself may be what failed
        print(f"[sweep] could not record the failure in the run: {secrets.redact(str(failed))[:200]}", flush=True)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Flatten nested config values to dotted keys ({'train': {'epochs': 12}} -> {'train.epochs': 12})."""
    flat: Dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def log_params(params: Mapping[str, Any], run_id: Optional[str] = None) -> None:
    """Log the flattened config (and the option names) as the run's params, in one call (to `run_id` if given)."""
    mlflow.log_params(dict(params), run_id=run_id)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Tag the job's run (e.g. a pruned trial's pruned_at_epoch)."""
    mlflow.set_tags({k: str(v) for k, v in tags.items()})


def log_final(metrics: Mapping[str, float]) -> None:
    """Log the end-of-job metrics (train/test loss and accuracy, fit time) in one call."""
    mlflow.log_metrics({k: float(v) for k, v in metrics.items()})


def log_figures(figures: Mapping[str, Any]) -> None:
    """Log matplotlib figures as PNG artifacts under plots/, then free them."""
    for name, fig in figures.items():
        mlflow.log_figure(fig, f"plots/{name}.png")
        plt.close(fig)


def log_config_files(config_dir: Optional[Path]) -> None:
    """Log Hydra's config.yaml, hydra.yaml and overrides.yaml of the job under hydra/, any secret in them masked."""
    if config_dir is None or not config_dir.is_dir():
        return
    with tempfile.TemporaryDirectory() as masked:
        for path in sorted(p for p in config_dir.iterdir() if p.is_file()):
            (Path(masked) / path.name).write_text(secrets.redact(path.read_text()))
        mlflow.log_artifacts(masked, "hydra")
