"""The tracking store: its URI, reachability, experiment, and look-ups shared by train and compare.

Kept free of TensorFlow so that `sweep.compare` and the multirun parent start fast.
"""

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Optional

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run

from sweep.tracking import access, creation, retries, store_check
from sweep.tracking.errors import StoreError  # noqa: F401 - callers catch store.StoreError

# Handed from the multirun parent to its jobs (and to joblib/ray workers) through the environment.
ENV_SWEEP_ID = "SWEEP_ID"
ENV_PARENT = "SWEEP_PARENT_RUN_ID"
ENV_EXPERIMENT = "SWEEP_EXPERIMENT_ID"
ENV_N_JOBS = "SWEEP_N_JOBS"
ENV_WORKERS = "SWEEP_PARALLEL_JOBS"  # how many jobs share this machine's cores (sweep.job pins threads by it)
PLANNED_CELLS = "sweep/planned_cells.json"  # on the parent: the jobs its sweeper planned (a race: used)
ENV_JOB_TAGS = "SWEEP_JOB_TAGS"  # JSON {tag: value} that a sweeper adds to one job's run (e.g. race.round)

TAG_SWEEP = "sweep_id"
TAG_ROLE = "sweep_role"  # "parent" or "job"
TAG_CELL = "cell"  # the cell's name (sweep.config.cells): every swept key but the seed
TAG_CELL_HASH = "cell_hash"  # the cell's identity: its config without train.seed and tracking-only keys
TAG_HASH = "config_hash"  # one job's identity: the cell and its seed (resume skips a FINISHED one)
TAG_FACTORS = "sweep.factors"  # on the parent: the swept keys compare groups by, comma-separated
TAG_WEIGHTS = "weights_hash"  # a job's trained weights, hashed: equal only for bit-identical training
TAG_RACE_BEST = "race.best"  # a race's parent: its winner, or the cells left, " | "-joined (sweep.search)
TAG_PRUNED = "pruned_at_epoch"  # set on the run of a search trial that its pruner stopped early


def new_sweep_id() -> str:
    """A sortable, unique sweep id: UTC time plus a random suffix."""
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def resolve_uri(launch_dir: Path) -> str:
    """$MLFLOW_TRACKING_URI (a login in it moved to MLflow's variables), else <launch dir>/mlruns/mlflow.db."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return access.adopt_uri_credentials(uri)
    return f"sqlite:///{(launch_dir / 'mlruns' / 'mlflow.db').resolve()}"


def sqlite_path(uri: str) -> Optional[Path]:
    """The database file of a sqlite:/// URI (relative paths from the current directory), else None."""
    return Path(uri[len("sqlite:///") :]).resolve() if uri.startswith("sqlite:///") else None


def check_reachable(uri: str) -> None:
    """Touch the store within seconds (this also migrates a new SQLite store); raise StoreError if it fails."""
    try:
        with retries.fail_fast():  # MLflow retries an unreachable server for minutes; a probe answers in seconds
            MlflowClient(uri).search_experiments(max_results=1)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the store gets the same one-line answer
        raise access.store_error(exc, uri) from exc


def prepare_experiment(uri: str, name: str) -> str:
    """Reach and migrate the store, get or create the experiment once, before jobs fan out; return its id.

    Raises StoreError, before anything is written, when the store is unreachable, is no MLflow store of this
    version, or refuses this user's runs.
    """
    db = sqlite_path(uri)
    try:
        store_check.check(uri)  # before MlflowClient(uri), which already creates a SQLite file
    except store_check.OutdatedSchema:
        if db is None or not creation.migrating(db):
            raise
    if db is not None:  # created and migrated here, once, not racing in parallel jobs
        creation.reach(uri, db, check_reachable)
    else:
        check_reachable(uri)
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(name)
    if found is not None:
        _usable(uri, found)
        return found.experiment_id
    # A new experiment: any user the server does not deny may create one, and becomes its owner (MANAGE).
    location = (sqlite_path(uri).parent / "artifacts").resolve().as_uri() if sqlite_path(uri) else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException as exc:
        if access.login_problem(exc, uri):
            raise access.store_error(exc, uri) from exc
        found = client.get_experiment_by_name(name)  # another process won the creation race
        if found is None:
            raise
        _usable(uri, found)
        return found.experiment_id


def _usable(uri: str, experiment) -> None:
    """Raise StoreError if runs cannot be created in an existing experiment: deleted, or not ours to write."""
    if experiment.lifecycle_stage == "deleted":  # MLflow refuses runs there, and refuses the name to a new one
        raise StoreError(
            f"mlflow.experiment={experiment.name}: the experiment is deleted (id {experiment.experiment_id}); "
            f"restore it (mlflow experiments restore --experiment-id {experiment.experiment_id}) or name another"
        )
    access.check_can_write(uri, experiment.experiment_id, experiment.name)


def sweeper_tags() -> Dict[str, str]:
    """The tags a sweeper set around this job (ENV_JOB_TAGS), for its run."""
    return json.loads(os.environ.get(ENV_JOB_TAGS) or "{}")


def finished_runs(uri: str, experiment_id: str, digest: Optional[str] = None) -> Dict[str, Run]:
    """config_hash -> the latest FINISHED job run of each configuration (or of the one `digest`)."""
    only = f" and tags.{TAG_HASH} = '{digest}'" if digest else ""
    runs = MlflowClient(uri).search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'FINISHED' and tags.{TAG_ROLE} = 'job'{only}",
        order_by=["attributes.start_time ASC"],
        max_results=50000,
    )
    # a search trial its pruner stopped is FINISHED but not a full-length run of its configuration
    return {r.data.tags[TAG_HASH]: r for r in runs if TAG_HASH in r.data.tags and TAG_PRUNED not in r.data.tags}


def log_report(uri: str, run_id: str, files: list) -> None:
    """Attach compare's report files to a run (the sweep's parent) under compare/."""
    client = MlflowClient(uri)
    for path in files:
        client.log_artifact(run_id, str(path), "compare")
