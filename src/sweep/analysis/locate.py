"""Find what compare was asked for: the store, the experiment, the sweep and its parent run."""

import argparse
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from sweep.analysis import query
from sweep.tracking import secrets, store, store_check


class NothingToCompare(LookupError):
    """No store, experiment or sweep to compare; the message says which."""


def locate(args: argparse.Namespace):
    """The store URI, experiment id, sweep id and parent run (or None) that the arguments name."""
    uri = store.resolve_uri(Path.cwd())
    where = secrets.display_uri(uri)
    if store.sqlite_path(uri) is not None and not store.sqlite_path(uri).is_file():
        raise NothingToCompare(
            f"no MLflow store at {where}; run python -m sweep.train first or set MLFLOW_TRACKING_URI"
        )
    store_check.check(uri)  # a file that is no MLflow store of this version is refused, untouched
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    store.check_reachable(uri)
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise NothingToCompare(
            f"--experiment: no experiment {args.experiment!r} in {where}; run python -m sweep.train first"
        )
    experiment_id = experiment.experiment_id
    sweep_id = args.sweep or query.latest_sweep(client, experiment_id)
    if sweep_id is None:
        raise NothingToCompare(f"experiment {args.experiment!r} has no sweep runs yet ({where})")
    parent = query.parent_run(client, experiment_id, sweep_id)
    return uri, experiment_id, sweep_id, parent
