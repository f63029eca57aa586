"""The Optuna study, the search's second record of its trials: its storage, its pruner, and a job's own trial.

Both the search sweeper and its jobs open the study here. Optuna does not store the pruner with the study
(`optuna.load_study(..., pruner=None)` falls back to MedianPruner), so every process builds it from the same spec.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from sweep.tracking import places

# Handed from the search sweeper to its jobs: the study's name, storage and pruner once, the trial number per job.
ENV_STUDY, ENV_STORAGE, ENV_PRUNER = "SWEEP_STUDY", "SWEEP_STUDY_STORAGE", "SWEEP_STUDY_PRUNER"
ENV_REPORT, ENV_TRIAL = "SWEEP_STUDY_REPORT", "SWEEP_TRIAL"
ATTR_RUN_ID, ATTR_NAME, ATTR_OWNER = "mlflow_run_id", "sweep.run_name", "sweep.owner"
ATTR_END_REASON, ATTR_SWEEP = "sweep.end_reason", "sweep_id"
TAG_STUDY, TAG_TRIAL = "optuna.study", "optuna.trial"
TAG_PRUNED = "pruned_at_epoch"  # = store.TAG_PRUNED; this module stays free of MLflow (any app's jobs import it)
ATTR_PRUNED_AT = "sweep.pruned_at"  # on a trial of any app that sweep.report() pruned: the step
TAG_PARAMS = "optuna.params"  # the trial's drawn values as JSON, as Optuna holds them (compare rebuilds the study)

PRUNERS = {
    "none": optuna.pruners.NopPruner,
    "median": optuna.pruners.MedianPruner,
    "asha": optuna.pruners.SuccessiveHalvingPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
}

optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweeper prints one line per trial itself


def is_url(storage: str) -> bool:
    """Whether a storage spec is a database URL (else it is a journal file's path)."""
    return "://" in storage


def open_storage(spec: str) -> BaseStorage:
    """A journal file (safe for many processes on one host) or an RDB URL (PostgreSQL, for a cluster)."""
    if is_url(spec):
        return RDBStorage(spec, engine_kwargs={"pool_pre_ping": True})
    Path(spec).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(spec))


def existing_directions(spec: str, name: str) -> Optional[list]:
    """The directions of study `name` if it exists already, without creating any file, table or study."""
    if is_url(spec):
        if not _has_tables(spec):
            return None
        storage = RDBStorage(spec, skip_table_creation=True)
        try:
            return [d.name.lower() for d in storage.get_study_directions(storage.get_study_id_from_name(name))]
        except KeyError:
            return None
    if not Path(spec).is_file():
        return None
    summaries = optuna.get_all_study_summaries(open_storage(spec), include_best_trial=False)
    found = [s for s in summaries if s.study_name == name]
    return [d.name.lower() for d in found[0].directions] if found else None


def check_writable(spec: str) -> None:
    """Raise ValueError (one line naming hydra.sweeper.storage) if the storage's file cannot be created or written."""
    path = Path(spec) if not is_url(spec) else None
    if is_url(spec):
        import sqlalchemy

        parsed = sqlalchemy.engine.make_url(spec)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            path = Path(parsed.database).resolve()
    wrong = places.problem(path) if path is not None else None
    if wrong:
        raise ValueError(f"hydra.sweeper.storage={safe_storage(spec)}: {wrong}; choose a writable place for the study")


def _has_tables(url: str) -> bool:
    """Whether the database holds Optuna's tables; connects within seconds, and never creates a SQLite file."""
    import sqlalchemy

    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return bool(parsed.database) and Path(parsed.database).is_file() and Path(parsed.database).stat().st_size > 0
    connect_args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
    engine = sqlalchemy.create_engine(parsed, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            return "studies" in sqlalchemy.inspect(connection).get_table_names()
    finally:
        engine.dispose()


def pruner(spec: Dict[str, Any]) -> optuna.pruners.BasePruner:
    """The pruner named by spec["name"] with spec["options"] (both checked by the sweeper first)."""
    return PRUNERS[spec["name"]](**dict(spec.get("options") or {}))


def safe_storage(spec: str) -> str:
    """The storage as it may be shown and tagged: a URL without its password."""
    if not is_url(spec):
        return spec
    from sqlalchemy.engine import make_url

    return make_url(spec).render_as_string(hide_password=True)


@dataclass(frozen=True)
class TrialLink:
    """What a job needs to find its own trial: the study, its storage and pruner, the trial number."""

    study: str
    storage: str
    pruner: Dict[str, Any]
    report: Optional[str]  # the per-epoch metric reported to the trial (None: multi-objective, nothing reported)
    number: int = -1

    def env(self) -> Dict[str, str]:
        """The study's part of the link, for the environment of every job."""
        pruner_spec = json.dumps(self.pruner, sort_keys=True)
        return {
            ENV_STUDY: self.study,
            ENV_STORAGE: self.storage,
            ENV_PRUNER: pruner_spec,
            ENV_REPORT: self.report or "",
        }

    @classmethod
    def from_env(cls, env: Optional[Dict[str, str]] = None) -> Optional["TrialLink"]:
        """The link a search handed this job, or None for a job of a grid sweep or a single run."""
        env = os.environ if env is None else env
        if not env.get(ENV_TRIAL) or not env.get(ENV_STUDY):
            return None
        pruner_spec = json.loads(env.get(ENV_PRUNER) or '{"name": "none"}')
        report = env.get(ENV_REPORT) or None
        return cls(env[ENV_STUDY], env[ENV_STORAGE], pruner_spec, report, int(env[ENV_TRIAL]))


def open_trial(link: TrialLink) -> optuna.trial.Trial:
    """The job's own trial (RUNNING, asked by the sweeper), in a study loaded with the search's pruner."""
    storage = open_storage(link.storage)
    study = optuna.load_study(study_name=link.study, storage=storage, pruner=pruner(link.pruner))
    study_id = storage.get_study_id_from_name(link.study)
    return optuna.trial.Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id, link.number))
