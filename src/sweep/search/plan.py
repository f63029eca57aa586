"""Everything a search is asked to do, checked before the parent run or the study exists (see sweep.config.plan)."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from sweep.config import cells, schema
from sweep.config.sweeper_contract import SweeperPlan
from sweep.search import options
from sweep.search.options import Objective
from sweep.search.space import Space, parse
from sweep.tracking import study

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
FUSED = "hydra_plugins.sweep_launchers.fused_launcher.FusedLauncher"  # joblib's (hydra/launcher=parallel)
RAY = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
BASIC = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
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

    def link(self) -> study.TrialLink:
        """The study's part of every job's link to its trial."""
        return study.TrialLink(self.study_name, self.storage, self.pruner, self.objective.report)

    def for_parent(self) -> SweeperPlan:
        """What the multirun's parent checks and exports before any job runs."""
        workers = min(self.slots, self.workers)
        return SweeperPlan(self.space.examples(), self.n_trials, workers, self.link().env())


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def launcher_workers(config: DictConfig) -> Tuple[int, bool]:
    """How many jobs the launcher runs at once, and whether it runs them inside this process."""
    launcher = config.hydra.launcher
    target = launcher.get("_target_")
    if target in (JOBLIB, FUSED):
        n = int(launcher.get("n_jobs") or 1)
        n = schema.default_workers() if n < 0 else n
        return n, n == 1  # joblib runs a single worker's jobs in this process
    if target == RAY:
        cpus = OmegaConf.select(launcher, "ray.init.num_cpus", default=None)
        return int(cpus) if cpus else schema.default_workers(), False
    return (1, True) if target == BASIC else (schema.default_workers(), False)


def _slots(config: DictConfig, n_jobs: Optional[int]) -> Tuple[int, int]:
    workers, in_process = launcher_workers(config)
    if in_process and (n_jobs or 1) > 1:
        raise ValueError(
            f"hydra.sweeper.n_jobs: this launcher runs one job at a time inside this process, so 1 is allowed, "
            f"got {n_jobs} (hydra/launcher=joblib runs several)"
        )
    return (1 if in_process else n_jobs or workers), workers


def _storage(spec: Optional[str], launch_dir: Path) -> str:
    if not spec:
        return str((launch_dir / DEFAULT_STORAGE).resolve())
    options.storage(spec)
    return spec if study.is_url(spec) else str((launch_dir / spec).resolve())


def default_study_name(config: DictConfig, space: Space, objective: Objective) -> str:
    """`<experiment>-<hash>`: the same command names the same study (the space, fixed values and objective)."""
    what = [space.digest(), cells.config_hash(config), json.dumps([objective.metrics, objective.directions])]
    return f"{config.mlflow.experiment}-{hashlib.sha256(' '.join(what).encode()).hexdigest()[:10]}"


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
    sw = config.hydra.sweeper
    options.counts(sw.n_trials, sw.n_jobs, sw.max_failure_rate)
    objective = options.objective(_plain(sw.metric), _plain(sw.direction))
    sampler = {"name": sw.sampler, "options": _plain(sw.sampler_options) or {}, "seed": sw.seed}
    options.sampler(sampler["name"], sampler["options"], sampler["seed"])  # builds it once, to check it
    pruner = options.pruner(sw.pruner, _plain(sw.pruner_options) or {}, objective)
    params = [f"{k}={v}" for k, v in (_plain(sw.params) or {}).items()]
    loader = GlobalHydra.instance().config_loader() if GlobalHydra.instance().is_initialized() else None
    space = parse(params + list(config.hydra.overrides.task), config, loader)
    slots, workers = _slots(config, sw.n_jobs)
    storage = _storage(sw.storage, Path(config.hydra.runtime.cwd))
    name = sw.study_name or default_study_name(config, space, objective)
    _check_existing(storage, name, objective)
    return SearchPlan(
        space, objective, sampler, pruner, sw.n_trials, slots, workers, float(sw.max_failure_rate), storage, name
    )
