"""MLflow tracking for any Hydra app, as a Hydra callback: `hydra/callbacks=mlflow` (or a hydra.callbacks entry).

A multirun gets a parent run; every job a child run with the job's overrides as params and the numbers the task
returned as metrics (a number as `value`, a mapping's numeric entries by key, a sequence as value_0, value_1, ...).
The store is $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db under the launch directory, checked before any
job. With sweep's own sweepers (search, race) the parent is created only once their options passed their checks.
"""

import atexit
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from sweep.apps import returns
from sweep.config import app_kind

TARGET = "sweep.apps.tracking.TrackingCallback"
ENV_PARENT, ENV_EXPERIMENT = "SWEEP_APP_PARENT_RUN_ID", "SWEEP_APP_EXPERIMENT_ID"
OUR_SWEEPERS = ("hydra_plugins.sweep_sweepers.search.SearchSweeper", "hydra_plugins.sweep_sweepers.race.RaceSweeper")


def _settings(config: DictConfig) -> Optional[DictConfig]:
    return app_kind.callback(config, TARGET)


def _uri(config: DictConfig) -> str:
    from sweep.tracking import store

    return store.resolve_uri(Path(config.hydra.runtime.cwd))


def begin(config: DictConfig) -> Dict[str, str]:
    """Create the experiment and the sweep's parent run if tracking is on (once); the env its jobs need."""
    settings = _settings(config)
    if settings is None:
        return {}
    if not os.environ.get(ENV_PARENT):
        from mlflow import MlflowClient

        from sweep.launch import preflight
        from sweep.tracking import store

        uri, name = _uri(config), settings.get("experiment") or config.hydra.job.name
        with preflight.fatal():
            experiment_id = store.prepare_experiment(uri, name)
        overrides = " ".join(config.hydra.overrides.task)
        tags = {"sweep_role": "parent", "hydra.sweeper": config.hydra.sweeper._target_, "hydra.overrides": overrides}
        parent = MlflowClient(uri).create_run(experiment_id, run_name=f"{config.hydra.job.name} sweep", tags=tags)
        os.environ.update({ENV_PARENT: parent.info.run_id, ENV_EXPERIMENT: experiment_id})
        atexit.register(_end_parent, uri, parent.info.run_id)
    return {ENV_PARENT: os.environ[ENV_PARENT], ENV_EXPERIMENT: os.environ[ENV_EXPERIMENT]}


def _end_parent(uri: str, run_id: str, status: str = "FAILED") -> None:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    if client.get_run(run_id).info.status == "RUNNING":  # ended FINISHED by on_multirun_end, unless the sweep died
        client.set_terminated(run_id, status)


def abandon(config: DictConfig) -> None:
    """Delete the sweep's parent run and its jobs' runs (the sweep stopped on a bad setup: nothing half-written)."""
    parent = os.environ.get(ENV_PARENT)
    if _settings(config) is None or not parent:
        return
    from mlflow import MlflowClient

    client = MlflowClient(_uri(config))
    children = client.search_runs([os.environ[ENV_EXPERIMENT]], f"tags.mlflow.parentRunId = '{parent}'")
    for run_id in [r.info.run_id for r in children] + [parent]:
        client.set_terminated(run_id, "FAILED")
        client.delete_run(run_id)


def log_files(config: DictConfig, paths: List[Path]) -> None:
    """Log files or folders to the sweep's parent run, when tracking is on."""
    if _settings(config) is None or not os.environ.get(ENV_PARENT):
        return
    from mlflow import MlflowClient

    client = MlflowClient(_uri(config))
    for path in map(Path, paths):
        if path.is_dir():
            client.log_artifacts(os.environ[ENV_PARENT], str(path), artifact_path=path.name)
        else:
            client.log_artifact(os.environ[ENV_PARENT], str(path))


class TrackingCallback(Callback):
    """Parent run per multirun, child run per job; see the module's docstring."""

    def __init__(self, experiment: Optional[str] = None) -> None:
        self.experiment = experiment
        self.run_id: Optional[str] = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from sweep.launch import preflight
        from sweep.tracking import store_check

        with preflight.fatal():
            store_check.check(_uri(config))  # read-only: nothing is created before the sweep's own checks
        if config.hydra.sweeper._target_ not in OUR_SWEEPERS:
            begin(config)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if os.environ.get(ENV_PARENT):
            _end_parent(_uri(config), os.environ[ENV_PARENT], "FINISHED")

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Param

        parent = os.environ.get(ENV_PARENT)
        experiment_id = os.environ.get(ENV_EXPERIMENT) or begin_single(config, self.experiment)
        tags = {"sweep_role": "job", "hydra.job.num": str(config.hydra.job.get("num", 0))}
        tags.update({"mlflow.parentRunId": parent} if parent else {})
        if os.environ.get("SWEEP_TRIAL"):
            tags["optuna.trial"] = os.environ["SWEEP_TRIAL"]
        client = MlflowClient(_uri(config))
        name = config.hydra.job.override_dirname or config.hydra.job.name
        self.run_id = client.create_run(experiment_id, run_name=name[:250], tags=tags).info.run_id
        params = [o.lstrip("+~").partition("=") for o in config.hydra.overrides.task]
        client.log_batch(self.run_id, params=[Param(k, v[:6000]) for k, _, v in params])

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus
        from mlflow import MlflowClient
        from mlflow.entities import Metric

        if self.run_id is None:
            return
        client, ok = MlflowClient(_uri(config)), job_return.status == JobStatus.COMPLETED
        found = returns.named(job_return.return_value, OmegaConf.select(config, "hydra.sweeper.metric")) if ok else {}
        client.log_batch(self.run_id, metrics=[Metric(k, v, int(time.time() * 1000), 0) for k, v in found.items()])
        client.set_terminated(self.run_id, "FINISHED" if ok else "FAILED")
        self.run_id = None


def begin_single(config: DictConfig, experiment: Optional[str]) -> str:
    """The experiment of a single run (no multirun, no parent)."""
    from sweep.launch import preflight
    from sweep.tracking import store

    with preflight.fatal():
        return store.prepare_experiment(_uri(config), experiment or config.hydra.job.name)
