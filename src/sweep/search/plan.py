"""Everything a search is asked to do, checked before the parent run or the study exists (see sweep.config.plan)."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from sweep.config import app_kind as kind
from sweep.config import cells
from sweep.config.sweeper_contract import SweeperPlan
from sweep.search import app_objective, options, slots
from sweep.search.options import Objective
from sweep.search.space import Space, parse
from sweep.tracking import study

DEFAULT_STORAGE = "mlruns/optuna.journal"  # under the launch directory


@dataclass
class SearchPlan:
    """A checked search: its space, objective, sampler and pruner, counts, and where its study lives."""

    space: Space
    objective: Objective
    sampler: Dict[str, Any]  # {"name", "options", "seed"}
    pruner: Dict[str, Any]  # {"name", "options"}
    n_trials: int
    slots: int  # trials in flight at once
    workers: int  # the launcher's parallel jobs
    max_failure_rate: float
    storage: str
    study_name: str
    app: bool = False  # any Hydra app but sweep.train: the task's return value is the result (sweep.apps.search)
    custom_space: Optional[str] = None  # hydra.sweeper.custom_search_space: fn(config, trial) drawing more keys

    def link(self) -> study.TrialLink:
        """The study's part of every job's link to its trial."""
        return study.TrialLink(self.study_name, self.storage, self.pruner, self.objective.report)

    def for_parent(self) -> SweeperPlan:
        """What the multirun's parent checks and exports before any job runs."""
        workers = min(self.slots, self.workers)
        return SweeperPlan(self.space.examples(), self.n_trials, workers, self.link().env())


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def _storage(spec: Optional[str], launch_dir: Path) -> str:
    if not spec:
        return str((launch_dir / DEFAULT_STORAGE).resolve())
    options.storage(spec)
    return spec if study.is_url(spec) else str((launch_dir / spec).resolve())


def default_study_name(config: DictConfig, space: Space, objective: Objective, app: bool = False) -> str:
    """`<experiment or app>-<hash>`: the same command names the same study (the space, fixed values, objective)."""
    what = [space.digest(), cells.config_hash(config), json.dumps([objective.metrics, objective.directions])]
    prefix = config.hydra.job.name if app else config.mlflow.experiment
    return f"{prefix}-{hashlib.sha256(' '.join(what).encode()).hexdigest()[:10]}"


def _sampler(sw: DictConfig) -> Dict[str, Any]:
    """{"name", "options", "seed"}: a name (tpe, random, ...) or, as Hydra's Optuna sweeper takes it, a mapping."""
    given, extra = _plain(sw.sampler), _plain(sw.sampler_options) or {}
    if not isinstance(given, dict):
        return {"name": given, "options": extra, "seed": sw.seed}
    given = dict(given)
    return {"name": given.pop("_target_", "tpe"), "seed": given.pop("seed", sw.seed), "options": {**given, **extra}}


def _custom_space(path: Optional[str], app: bool) -> Optional[str]:
    if path and not app:
        raise ValueError(
            "hydra.sweeper.custom_search_space: for apps other than sweep.train, whose every job sweep checks "
            "before the first run; give the space as hydra.sweeper.params"
        )
    if path:
        from hydra.utils import get_method

        try:
            get_method(path)
        except Exception:  # noqa: BLE001 - not importable, for whatever reason: one line naming the key
            raise ValueError(f"hydra.sweeper.custom_search_space: cannot import the function {path!r}") from None
    return path or None


def _check_existing(storage: str, name: str, objective: Objective) -> None:
    study.check_writable(storage)
    try:
        found = study.existing_directions(storage, name)
    except Exception as exc:  # noqa: BLE001 - any failure to read the storage gets the same one-line answer
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ValueError(f"hydra.sweeper.storage: cannot open {study.safe_storage(storage)} ({reason})") from None
    if found is not None and found != objective.directions:
        raise ValueError(
            f"hydra.sweeper.study_name: study {name!r} exists with directions {found}, "
            f"this search has {objective.directions}; name another study"
        )


def make(config: DictConfig) -> SearchPlan:
    """Check the sweeper's options and space; raise ValueError with one line naming the key."""
    sw, app = config.hydra.sweeper, not kind.is_sweep_train(config)
    options.counts(sw.n_trials, sw.n_jobs, sw.max_failure_rate)
    metric, direction = _plain(sw.metric), _plain(sw.direction)
    if app:
        objective = app_objective.objective(metric, direction)
    else:
        objective = options.objective("val_accuracy" if metric is None else metric, direction)
    sampler = _sampler(sw)
    options.sampler(sampler["name"], sampler["options"], sampler["seed"])  # builds it once, to check it
    pruner = options.pruner(sw.pruner, _plain(sw.pruner_options) or {}, objective)
    params = [f"{k}={v}" for k, v in (_plain(sw.params) or {}).items()]
    loader = GlobalHydra.instance().config_loader() if GlobalHydra.instance().is_initialized() else None
    space = parse(params + list(config.hydra.overrides.task), config, loader)
    in_flight, workers = slots.count(config, sw.n_jobs, app)
    storage = _storage(sw.storage, Path(config.hydra.runtime.cwd))
    name = sw.study_name or default_study_name(config, space, objective, app)
    custom = _custom_space(sw.get("custom_search_space"), app)
    _check_existing(storage, name, objective)
    failures = float(sw.max_failure_rate)
    return SearchPlan(
        space, objective, sampler, pruner, sw.n_trials, in_flight, workers, failures, storage, name, app, custom
    )
