"""The multirun's parent run: created before jobs fan out, ended with a status that tells the truth."""

from typing import Dict, List

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
    client.log_dict(run.info.run_id, design, "sweep/design.json")
    if planned:
        client.log_dict(run.info.run_id, {"cells": planned}, "sweep/planned_cells.json")
    return run.info.run_id


def children(uri: str, run_id: str) -> list:
    """The job runs launched under a parent run."""
    client = MlflowClient(uri)
    experiment_id = client.get_run(run_id).info.experiment_id
    return client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'", max_results=50000)


def end(uri: str, run_id: str, interrupted: bool, expected: int) -> str:
    """End the parent: KILLED when interrupted, FAILED when fewer than `expected` jobs finished, else FINISHED."""
    client = MlflowClient(uri)
    if client.get_run(run_id).info.status != "RUNNING":
        return client.get_run(run_id).info.status
    jobs = children(uri, run_id)
    for job in jobs:  # a job interrupted before its own handler ran is still RUNNING, owned by this process
        if job.info.status == "RUNNING":
            client.set_tag(job.info.run_id, liveness.TAG_END_REASON, "the sweep was interrupted")
            client.set_terminated(job.info.run_id, "KILLED")
    ok = all(j.info.status == "FINISHED" for j in jobs) and len(jobs) >= expected
    status = "KILLED" if interrupted else ("FINISHED" if ok else "FAILED")
    client.set_terminated(run_id, status)
    return status


def summary(uri: str, run_id: str, skipped: List[str]) -> List[str]:
    """Lines that say how each job of the sweep ended, naming every cell that did not finish."""
    counts: Dict[str, int] = {}
    lines = []
    for job in sorted(children(uri, run_id), key=lambda r: r.info.start_time):
        status = job.info.status
        counts[status] = counts.get(status, 0) + 1
        if status != "FINISHED":
            reason = job.data.tags.get("failure_reason") or job.data.tags.get(liveness.TAG_END_REASON, "")
            lines.append(f"  {status} {job.info.run_name}: {reason}".rstrip(": "))
    head = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "no jobs ran"
    lines = [f"summary: {head}, {len(skipped)} skipped (already finished)"] + lines
    return lines + [f"  skipped {cell}" for cell in skipped]
