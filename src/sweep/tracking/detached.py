"""Job runs that are not the process's active run: the cells of a fused job, which train at once.

Each is created up front (open_job_run), then resumed by runs.job_run(..., run_id=...) to log its results and end,
or ended from outside (end_job_run) when the group is interrupted before its turn.
"""

import os
from typing import Mapping

import mlflow
from mlflow import MlflowClient
from mlflow.tracking.context.registry import resolve_tags
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from sweep.tracking import liveness, runs, store


def open_job_run(uri: str, experiment_id: str, run_name: str, tags: Mapping[str, str]) -> str:
    """Create a job's run, RUNNING and not active, as job_run would start it (tags, parent); return its id.

    For the cells of a fused job, which train at once: job_run(..., run_id=…) later resumes each to finish it.
    """
    user_tags = {
        store.TAG_ROLE: "job",
        **liveness.owner_tags(),
        **liveness.heartbeat_tags(),
        **tags,
        MLFLOW_RUN_NAME: run_name,
    }
    parent = os.environ.get(store.ENV_PARENT)
    if parent:
        user_tags[MLFLOW_PARENT_RUN_ID] = parent
    mlflow.set_tracking_uri(uri)  # as job_run does: the cells' per-epoch metrics go through MLflow's fluent API
    client = MlflowClient(uri)
    return client.create_run(experiment_id, tags=resolve_tags(user_tags), run_name=run_name).info.run_id


def end_job_run(uri: str, run_id: str, status: str, reason: str) -> None:
    """End a job's run that is not active (a fused job's cell) with a status and its reason."""
    client = MlflowClient(uri)
    client.set_tag(run_id, runs.TAG_FAILURE if status == "FAILED" else liveness.TAG_END_REASON, reason[:5000])
    client.set_terminated(run_id, status)
