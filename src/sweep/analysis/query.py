"""Read a sweep back from MLflow: its parent, its plan and design, its job runs, their per-epoch histories."""

from typing import List, Optional, Sequence

import mlflow
import pandas as pd
from mlflow import MlflowClient

from sweep.tracking import store

COLUMNS = {
    f"tags.{store.TAG_CELL}": "cell",
    f"tags.{store.TAG_CELL_HASH}": "cell_hash",
    f"tags.{store.TAG_HASH}": "config_hash",
    f"tags.{store.TAG_SWEEP}": "sweep_id",
    "tags.mlflow.runName": "run",
    "params.train.seed": "seed",
    "status": "status",
    "tags.failure_reason": "reason",
    "metrics.train_accuracy": "train_accuracy",
    "metrics.test_accuracy": "test_accuracy",
    "metrics.best_epoch": "best_epoch",
    "run_id": "run_id",
    "start_time": "start_time",
}


def latest_sweep(client: MlflowClient, experiment_id: str) -> Optional[str]:
    """The sweep id of the most recently started run of the experiment."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{store.TAG_SWEEP} != ''",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].data.tags[store.TAG_SWEEP] if runs else None


def parent_run(client: MlflowClient, experiment_id: str, sweep_id: str):
    """The sweep's parent run, or None for a single job."""
    found = client.search_runs(
        [experiment_id],
        max_results=1,
        filter_string=(f"tags.{store.TAG_SWEEP} = '{sweep_id}' and tags.{store.TAG_ROLE} = 'parent'"),
    )
    return found[0] if found else None


def _parent_file(parent, name: str) -> Optional[dict]:
    if parent is None:
        return None
    names = {a.path for a in MlflowClient().list_artifacts(parent.info.run_id, "sweep")}
    if f"sweep/{name}" not in names:
        return None
    return mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/sweep/{name}")


def planned_cells(parent) -> List[dict]:
    """The jobs ({cell, run, cell_hash, config_hash}) the basic sweeper planned, as logged on the parent run."""
    return (_parent_file(parent, "planned_cells.json") or {}).get("cells", [])


def recorded_design(parent) -> Optional[dict]:
    """The parent's record of its sweep ({swept, factors, baseline}); None for a single job or an older sweep."""
    design = _parent_file(parent, "design.json")
    if design is None and parent is not None and store.TAG_FACTORS in parent.data.tags:
        factors = [k for k in parent.data.tags[store.TAG_FACTORS].split(",") if k]
        design = {"swept": factors, "factors": factors, "baseline": {}}
    return design


def job_runs(experiment_id: str) -> pd.DataFrame:
    """Every job run of the experiment (all sweeps), one row each: the COLUMNS names, then every `params.*`."""
    runs = mlflow.search_runs([experiment_id], max_results=100000, filter_string=f"tags.{store.TAG_ROLE} = 'job'")
    pruned = runs[f"tags.{store.TAG_PRUNED}"].notna() if f"tags.{store.TAG_PRUNED}" in runs else False
    params = sorted(c for c in runs.columns if c.startswith("params.") and c not in COLUMNS)
    runs = runs.reindex(columns=[*COLUMNS, *params]).rename(columns=COLUMNS)
    runs.loc[pruned & runs["status"].eq("FINISHED"), "status"] = "PRUNED"  # a search trial stopped early: no result
    return runs


def histories(runs: pd.DataFrame, metrics: List[str], factors: Sequence[str]) -> pd.DataFrame:
    """Per-epoch values of the given metrics for each run, one row per (run, step), with the run's factor columns."""
    client = MlflowClient()
    rows = []
    for run in runs.to_dict("records"):
        per_step: dict = {}
        for metric in metrics:
            for point in client.get_metric_history(run["run_id"], metric):
                per_step.setdefault(point.step, {})[metric] = point.value
        own = {"run_id": run["run_id"], "seed": run["seed"], **{f: run[f] for f in factors}}
        rows += [{**own, "step": step, **values} for step, values in sorted(per_step.items())]
    return pd.DataFrame(rows, columns=["run_id", "seed", *dict.fromkeys(factors), "step", *metrics])
