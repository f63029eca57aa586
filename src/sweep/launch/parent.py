"""The multirun's parent run: created before jobs fan out, ended with a status that tells the truth."""

from typing import List

from mlflow import MlflowClient
from mlflow.tracking.context.registry import resolve_tags

from sweep.tracking import liveness, store


def start(uri: str, experiment_id: str, sweep_id: str, planned: List[dict], design: dict) -> str:
    """Create the parent run (RUNNING) tagged with the sweep id and its factors, owned by this process.

    It holds `sweep/design.json` (swept keys, factors, each factor's baseline level) for every sweeper, and
    `sweep/planned_cells.json` (every job the basic sweeper will launch) where there is such a plan.
    """
    client = MlflowClient(uri)
    tags = {
        store.TAG_SWEEP: sweep_id,
        store.TAG_ROLE: "parent",
        store.TAG_FACTORS: ",".join(design["factors"]),
        "sweep.n_jobs": str(len(planned)),
        **liveness.owner_tags(),
    }
    run = client.create_run(experiment_id, run_name=f"sweep {sweep_id}", tags=resolve_tags(tags))
    liveness.drop_copies(uri, run)
    client.log_dict(run.info.run_id, design, "sweep/design.json")
    if planned:
        client.log_dict(run.info.run_id, {"cells": planned}, store.PLANNED_CELLS)
    return run.info.run_id


def children(uri: str, run_id: str) -> list:
    """The job runs launched under a parent run."""
    client = MlflowClient(uri)
    experiment_id = client.get_run(run_id).info.experiment_id
    only = f"tags.mlflow.parentRunId = '{run_id}' and tags.{store.TAG_ROLE} = 'job'"
    return client.search_runs([experiment_id], filter_string=only, max_results=50000)


STORE_DOWN = "its job ended without ending it (was the store down?)"


def close(uri: str, run_id: str, interrupted: bool) -> list:
    """Mark KILLED each job still RUNNING under the parent (interrupted before its handler ran); return every job."""
    client = MlflowClient(uri)
    jobs = children(uri, run_id)
    # Still RUNNING: a job interrupted before its own handler ran, one whose process died with it (its node lost:
    # the launcher ran the job again, in a run of its own), or one that could not reach the store to end it
    for job in jobs:
        if job.info.status == "RUNNING":
            dead = liveness.is_dead(job.data.tags, job.info.start_time)
            why = "its process died (killed, or its node was lost) before it ended its run" if dead else STORE_DOWN
            why = "the sweep was interrupted" if interrupted else why
            client.set_tag(job.info.run_id, liveness.TAG_END_REASON, why)
            client.set_terminated(job.info.run_id, "KILLED")
    return children(uri, run_id) if any(j.info.status == "RUNNING" for j in jobs) else jobs


def end(uri: str, run_id: str, jobs: list, interrupted: bool, expected: int) -> str:
    """End the parent: KILLED when interrupted, FAILED when fewer than `expected` jobs finished, else FINISHED."""
    ok = all(j.info.status == "FINISHED" for j in jobs) and len(jobs) >= expected
    status = "KILLED" if interrupted else ("FINISHED" if ok else "FAILED")
    MlflowClient(uri).set_terminated(run_id, status)
    return status


def is_running(uri: str, run_id: str) -> bool:
    """Whether the parent run is still RUNNING (not ended by an earlier call or another command)."""
    return MlflowClient(uri).get_run(run_id).info.status == "RUNNING"


def abandon(uri: str, run_id: str) -> None:
    """End and delete a parent run whose sweep never launched (its setup failed after the run was created)."""
    client = MlflowClient(uri)
    client.set_tag(run_id, liveness.TAG_END_REASON, "the sweep's setup failed before any job was launched")
    client.set_terminated(run_id, "FAILED")
    client.delete_run(run_id)
