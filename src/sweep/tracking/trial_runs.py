"""MLflow reads and writes of a search sweep: a trial's run, and its parent's study, space and best trial."""

from typing import Any, Dict, Optional

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

TAG_KIND = "sweep.kind"  # "search" on the parent of a search sweep
SPACE_ARTIFACT, BEST_ARTIFACT = "search/space.json", "search/best.json"


def trial_run(uri: str, run_id: Optional[str]) -> Optional[Run]:
    """The run a trial's job opened (its id is the trial's user attribute), or None."""
    if not run_id:
        return None
    try:
        return MlflowClient(uri).get_run(run_id)
    except MlflowException:
        return None


def describe_parent(uri: str, parent_id: str, tags: Dict[str, str], space: Dict[str, Any]) -> None:
    """Tag the parent as a search of its study and log the space and objective (compare rebuilds the study)."""
    client = MlflowClient(uri)
    client.set_tag(parent_id, TAG_KIND, "search")
    for key, value in tags.items():
        client.set_tag(parent_id, key, value)
    client.log_dict(parent_id, space, SPACE_ARTIFACT)


def log_best(uri: str, parent_id: str, best: Dict[str, Any]) -> None:
    """Log the best trial(s) on the parent: params best.<key>, metrics best.<metric>, the whole answer as JSON."""
    client = MlflowClient(uri)
    if len(best["trials"]) == 1:
        top = best["trials"][0]
        for key, value in top["params"].items():
            client.log_param(parent_id, f"best.{key}", value)
        for metric, value in top["values"].items():
            client.log_metric(parent_id, f"best.{metric}", value)
        client.set_tag(parent_id, "optuna.best_trial", str(top["number"]))
        client.set_tag(parent_id, "best_run_id", top.get("run_id") or "")
    for state, n in best["counts"].items():
        client.log_metric(parent_id, f"trials_{state.lower()}", n)
    client.log_dict(parent_id, best, BEST_ARTIFACT)
