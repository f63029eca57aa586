"""A searched sweep (hydra/sweeper=search) read back from MLflow: every trial of its study, ranked by the objective.

Only complete trials are ranked: a pruned trial stopped early and is not a full-length result, so it is listed
apart with the epoch it stopped at; failed and killed trials are counted and named, never dropped.
"""

import json
import os
from typing import Any, Dict, List

import mlflow
import numpy as np
import pandas as pd

from sweep.tracking import store, study, trial_runs

STATES = ("COMPLETE", "PRUNED", "FAILED", "KILLED", "RUNNING")


def is_search(parent: Any) -> bool:
    """Whether a sweep's parent run belongs to a search."""
    return parent is not None and parent.data.tags.get(trial_runs.TAG_KIND) == "search"


def described(parent: Any) -> Dict[str, Any]:
    """The search as its parent recorded it: study, space (Optuna's JSON), metrics and directions."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar for one small file on stderr
    return mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/{trial_runs.SPACE_ARTIFACT}")


def _state(status: str, pruned: Any) -> str:
    return (
        "PRUNED" if status == "FINISHED" and isinstance(pruned, str) else {"FINISHED": "COMPLETE"}.get(status, status)
    )


def trials(experiment_id: str, search: Dict[str, Any]) -> pd.DataFrame:
    """One row per trial of the study (every invocation's): number, state, objective values, test accuracy, params."""
    runs = mlflow.search_runs(
        [experiment_id],
        filter_string=f"tags.`{study.TAG_STUDY}` = '{search['study']}' and tags.{store.TAG_ROLE} = 'job'",
        max_results=100000,
    )
    if runs.empty:
        return pd.DataFrame(columns=["trial", "state", *search["metrics"], "test_accuracy", "run_id"])
    pruned = _column(runs, f"tags.{study.TAG_PRUNED}")
    table = pd.DataFrame(
        {
            "trial": runs[f"tags.{study.TAG_TRIAL}"].astype(int),
            "state": [_state(s, p) for s, p in zip(runs["status"], pruned, strict=True)],
            "pruned_at_epoch": pd.to_numeric(pruned, errors="coerce"),
        }
    )
    for metric in [*search["metrics"], "test_accuracy"]:
        table[metric] = pd.to_numeric(_column(runs, f"metrics.{metric}"), errors="coerce")
    params = [json.loads(p) if isinstance(p, str) else {} for p in _column(runs, f"tags.{study.TAG_PARAMS}")]
    for key in search["distributions"]:
        table[key] = [p.get(key) for p in params]
    reason = _column(runs, "tags.failure_reason").fillna(_column(runs, "tags.sweep.end_reason"))
    return table.assign(run_id=runs["run_id"], reason=reason).sort_values("trial", ignore_index=True)


def _column(runs: pd.DataFrame, name: str) -> pd.Series:
    return runs[name] if name in runs else pd.Series([None] * len(runs), index=runs.index, dtype=object)


def ranked(table: pd.DataFrame, search: Dict[str, Any]) -> pd.DataFrame:
    """Complete trials first, best first by the first objective (Pareto-optimal ones marked), then all others."""
    first, direction = search["metrics"][0], search["directions"][0]
    done = table[table["state"] == "COMPLETE"].sort_values(first, ascending=direction == "minimize")
    done = done.assign(rank=range(1, len(done) + 1), pareto=_pareto(done, search))
    rest = table[table["state"] != "COMPLETE"].assign(rank=np.nan, pareto=False)
    return pd.concat([done, rest], ignore_index=True)


def _pareto(done: pd.DataFrame, search: Dict[str, Any]) -> List[bool]:
    """Which complete trials no other beats on every objective (all of them are, with one objective, only the best)."""
    signs = np.array([1.0 if d == "maximize" else -1.0 for d in search["directions"]])
    values = done[search["metrics"]].to_numpy(dtype=float) * signs
    if len(search["metrics"]) == 1:
        return [i == 0 for i in range(len(values))]
    return [not any((o >= v).all() and (o > v).any() for o in values) for v in values]


def counts(table: pd.DataFrame) -> Dict[str, int]:
    """How many trials ended in each state (every state listed, zeros included)."""
    seen = set(table["state"])
    return {state: int((table["state"] == state).sum()) for state in STATES if state != "RUNNING" or state in seen}
