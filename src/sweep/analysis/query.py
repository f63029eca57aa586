"""Read a sweep back from MLflow: its parent, its plan, and one row per cell (latest FINISHED run wins)."""

from typing import List, Optional

import mlflow
import pandas as pd
from mlflow import MlflowClient

from sweep.tracking import store

COLUMNS = {
    "tags.cell": "cell",
    f"tags.{store.TAG_HASH}": "config_hash",
    f"tags.{store.TAG_SWEEP}": "sweep_id",
    "params.reg": "reg",
    "params.act": "act",
    "params.model.reg_at": "reg_at",
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


def planned_cells(parent) -> List[dict]:
    """The cells ({cell, config_hash}) the multirun planned, as logged on its parent run."""
    if parent is None:
        return []
    try:
        return mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/sweep/planned_cells.json")["cells"]
    except Exception as exc:  # noqa: BLE001 - a parent without a plan (another sweeper) has no planned cells
        print(f"note: no planned cells on the parent run ({type(exc).__name__}); listing the sweep's own runs")
        return []


def job_runs(experiment_id: str) -> pd.DataFrame:
    """Every job run of the experiment (all sweeps), one row each with the COLUMNS names."""
    runs = mlflow.search_runs([experiment_id], max_results=100000, filter_string=f"tags.{store.TAG_ROLE} = 'job'")
    pruned = runs[f"tags.{store.TAG_PRUNED}"].notna() if f"tags.{store.TAG_PRUNED}" in runs else False
    runs = runs.reindex(columns=list(COLUMNS)).rename(columns=COLUMNS)
    runs.loc[pruned & runs["status"].eq("FINISHED"), "status"] = "PRUNED"  # stopped early: never a cell's result
    return runs.assign(reg_at=runs["reg_at"].fillna("input"))


def cells(runs: pd.DataFrame, sweep_id: str, planned: List[dict]) -> pd.DataFrame:
    """One row per cell of the sweep: its latest FINISHED run from any invocation, else its latest run here.

    With a plan, a cell is its config hash, so a resumed sweep counts the cells that an earlier invocation
    finished; planned cells without any run are MISSING. Without a plan, the sweep's own runs are its cells.
    """
    if planned:
        hashes = {c["config_hash"] for c in planned}
        runs = runs[runs["config_hash"].isin(hashes) & (runs["status"].eq("FINISHED") | runs["sweep_id"].eq(sweep_id))]
        key = "config_hash"
    else:
        runs, key = runs[runs["sweep_id"].eq(sweep_id)], "cell"
    ranked = runs.assign(_done=runs["status"].eq("FINISHED")).sort_values(["_done", "start_time"], ascending=False)
    found = ranked.drop_duplicates(key).drop(columns="_done")
    if not planned:
        return found.reset_index(drop=True)
    plan = pd.DataFrame(planned)[["cell", "config_hash"]]
    table = plan.merge(found.drop(columns="cell"), on="config_hash", how="left")
    missing = table["status"].isna()
    table.loc[missing, "status"] = "MISSING"
    for column, key, default in (("reg", "reg", None), ("act", "act", None), ("reg_at", "model.reg_at", "input")):
        table.loc[missing, column] = table.loc[missing, "cell"].map(lambda c, k=key, d=default: _part(c, k, d))
    return table


def _part(cell: str, key: str, default=None) -> str:
    """One key's value in a cell name such as `reg=l1 act=relu model.reg_at=hidden`."""
    return dict(p.split("=", 1) for p in cell.split()).get(key, default)


def histories(runs: pd.DataFrame, metrics: List[str]) -> pd.DataFrame:
    """Per-epoch values of the given metrics for each run, one row per (run, step), with the run's cell columns."""
    client = MlflowClient()
    rows = []
    for run in runs.itertuples():
        per_step: dict = {}
        for metric in metrics:
            for point in client.get_metric_history(run.run_id, metric):
                per_step.setdefault(point.step, {})[metric] = point.value
        rows += [
            {
                "run_id": run.run_id,
                "reg": run.reg,
                "act": run.act,
                "reg_at": run.reg_at,
                "seed": run.seed,
                "step": step,
                **values,
            }
            for step, values in sorted(per_step.items())
        ]
    return pd.DataFrame(rows, columns=["run_id", "reg", "act", "reg_at", "seed", "step", *metrics])
