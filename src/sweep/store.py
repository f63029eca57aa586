"""The tracking store and the sweep-level MLflow writes: store URI, experiment, parent run, reports.

Kept free of TensorFlow so that `sweep.compare` and the multirun parent start fast.
"""

import os
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

import mlflow
from mlflow import MlflowClient
from mlflow.tracking.context.registry import resolve_tags

# Handed from the multirun parent to its jobs (and to joblib/ray workers) through the environment.
ENV_SWEEP_ID = "SWEEP_ID"
ENV_PARENT = "SWEEP_PARENT_RUN_ID"
ENV_EXPERIMENT = "SWEEP_EXPERIMENT_ID"
ENV_N_JOBS = "SWEEP_N_JOBS"

TAG_SWEEP = "sweep_id"
TAG_ROLE = "sweep_role"  # "parent" or "job"
TAG_CELL = "cell"


def log_report(uri: str, run_id: str, files: list) -> None:
    """Attach compare's report files to a run (the sweep's parent) under compare/."""
    client = MlflowClient(uri)
    for path in files:
        client.log_artifact(run_id, str(path), "compare")


def resolve_uri(launch_dir: Path) -> str:
    """$MLFLOW_TRACKING_URI, else SQLite at <launch dir>/mlruns/mlflow.db."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    (launch_dir / "mlruns").mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(launch_dir / 'mlruns' / 'mlflow.db').resolve()}"


def _artifact_location(uri: str) -> Optional[str]:
    # A SQLite store keeps its artifacts beside the database (mlruns/artifacts), not in the launch directory.
    if uri.startswith("sqlite:///"):
        return (Path(urlparse(uri).path).parent / "artifacts").resolve().as_uri()
    return None  # a tracking server decides (e.g. --serve-artifacts)


def prepare_experiment(uri: str, name: str) -> str:
    """Migrate the store and get or create the experiment once, before any job fans out; return its id."""
    client = MlflowClient(uri)
    client.search_experiments(max_results=1)  # runs schema migrations here, not racing in parallel jobs
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=_artifact_location(uri))
    except mlflow.exceptions.MlflowException:
        found = client.get_experiment_by_name(name)  # another process won the creation race
        if found is None:
            raise
        return found.experiment_id


def start_parent(uri: str, experiment_id: str, sweep_id: str, cells: list) -> str:
    """Create the multirun's parent run (RUNNING) tagged with the sweep id; log the planned cells."""
    client = MlflowClient(uri)
    tags = resolve_tags({TAG_SWEEP: sweep_id, TAG_ROLE: "parent", "sweep.n_jobs": str(len(cells))})
    run = client.create_run(experiment_id, run_name=f"sweep {sweep_id}", tags=tags)
    client.log_dict(run.info.run_id, {"cells": cells}, "sweep/planned_cells.json")
    return run.info.run_id


def end_parent(uri: str, run_id: str) -> str:
    """End the parent run: FINISHED when every job run finished, FAILED otherwise; return the status."""
    client = MlflowClient(uri)
    parent = client.get_run(run_id)
    if parent.info.status != "RUNNING":
        return parent.info.status
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'", max_results=10000
    )
    status = "FINISHED" if all(c.info.status == "FINISHED" for c in children) else "FAILED"
    client.set_terminated(run_id, status)
    return status
