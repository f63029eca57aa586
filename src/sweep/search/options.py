"""The search sweeper's own options, checked before anything runs: sampler, pruner, objective, counts, storage."""

import importlib.util
import inspect
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import optuna

from sweep.tracking import study

SAMPLERS = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "gp": optuna.samplers.GPSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
    "qmc": optuna.samplers.QMCSampler,
}
# The objective's metrics: their natural direction, and the per-epoch metric a pruned search reports (None: none).
# Test metrics are left out on purpose: choosing on the test set would leak it (it is reported beside the objective).
METRICS = {
    "val_accuracy": ("maximize", "val_accuracy"),
    "best_val_accuracy": ("maximize", "val_accuracy"),
    "val_loss": ("minimize", "val_loss"),
    "train_accuracy": ("maximize", None),
    "train_loss": ("minimize", None),
    "fit_time_s": ("minimize", None),
}


@dataclass(frozen=True)
class Objective:
    """What the search optimizes: one metric or several (a Pareto front), each with its direction."""

    metrics: List[str]
    directions: List[str]
    keyed: bool = True  # the metrics are keys of the job's result (any app: false when the task returns numbers)

    @property
    def report(self) -> Optional[str]:
        """The per-epoch metric a job reports to its trial (None for several objectives: Optuna cannot prune)."""
        if len(self.metrics) != 1:
            return None
        return METRICS[self.metrics[0]][1] if self.metrics[0] in METRICS else self.metrics[0]  # any app: its own


def _names(value: Any) -> List[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def objective(metric: Any, direction: Any) -> Objective:
    """The checked objective; directions default to each metric's natural one."""
    metrics = _names(metric)
    for name in metrics:
        if name not in METRICS:
            leak = " (choosing on the test set would leak it)" if name.startswith("test_") else ""
            raise ValueError(f"hydra.sweeper.metric: {name!r} cannot be optimized{leak}; allowed: {', '.join(METRICS)}")
    directions = [METRICS[m][0] for m in metrics] if direction is None else _names(direction)
    if len(directions) != len(metrics) or not set(directions) <= {"maximize", "minimize"}:
        raise ValueError(
            f"hydra.sweeper.direction: one of maximize, minimize for each metric ({len(metrics)}), got {direction!r}"
        )
    return Objective(metrics, directions)


def _checked_options(key: str, cls: type, options: Dict[str, Any], what: str) -> Dict[str, Any]:
    allowed = [p for p in inspect.signature(cls).parameters if p != "seed"]
    for name in options:
        if name not in allowed:
            raise ValueError(f"{key}.{name}: not an option of the {what}; allowed: {', '.join(allowed)}")
    return dict(options)


def sampler(name: str, options: Dict[str, Any], seed: Optional[int]) -> optuna.samplers.BaseSampler:
    """The named sampler (or the class a `_target_` names), seeded; ValueError names the key of a bad value."""
    if name not in SAMPLERS and "." in name:  # hydra.sweeper.sampler._target_, as Hydra's Optuna sweeper takes it
        return _from_target(name, options, seed)
    if name not in SAMPLERS:
        raise ValueError(f"hydra.sweeper.sampler: unknown sampler {name!r}; allowed: {', '.join(SAMPLERS)}")
    if name == "gp" and importlib.util.find_spec("torch") is None:
        raise ValueError(
            "hydra.sweeper.sampler: gp needs PyTorch (pip install 'sweep[gp]'); without it: tpe, random, cmaes, qmc"
        )
    kwargs = _checked_options("hydra.sweeper.sampler_options", SAMPLERS[name], options, f"{name} sampler")
    if name in ("gp", "cmaes", "qmc"):  # they draw categorical keys at random: say so once, not once a trial
        kwargs.setdefault("warn_independent_sampling", False)
    try:
        with warnings.catch_warnings():  # qmc and gp are "experimental" in Optuna: not this user's concern
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return SAMPLERS[name](seed=seed, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"hydra.sweeper.sampler_options: {exc}") from None


def _from_target(path: str, options: Dict[str, Any], seed: Optional[int]) -> optuna.samplers.BaseSampler:
    from hydra.utils import get_class

    try:
        cls = get_class(path)
    except Exception:  # noqa: BLE001 - not importable, for whatever reason: one line naming the key
        raise ValueError(f"hydra.sweeper.sampler._target_: cannot import {path!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)):
        raise ValueError(f"hydra.sweeper.sampler._target_: {path} is not an Optuna sampler")
    try:
        return cls(**({} if seed is None else {"seed": seed}), **options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"hydra.sweeper.sampler: {exc}") from None


def pruner(name: str, options: Dict[str, Any], objective: Objective) -> Dict[str, Any]:
    """The checked pruner spec ({"name", "options"}) that the sweeper and every job build the pruner from."""
    if name not in study.PRUNERS:
        raise ValueError(f"hydra.sweeper.pruner: unknown pruner {name!r}; allowed: {', '.join(study.PRUNERS)}")
    if name != "none" and objective.report is None:
        raise ValueError(
            f"hydra.sweeper.pruner: {name} needs one objective measured every epoch "
            f"(val_accuracy, best_val_accuracy, val_loss), got {', '.join(objective.metrics)}"
        )
    spec = {
        "name": name,
        "options": _checked_options("hydra.sweeper.pruner_options", study.PRUNERS[name], options, f"{name} pruner"),
    }
    try:
        study.pruner(spec)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"hydra.sweeper.pruner_options: {exc}") from None
    return spec


def counts(n_trials: Any, n_jobs: Any, max_failure_rate: Any) -> None:
    """Raise ValueError naming the first count out of range."""
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"hydra.sweeper.n_trials must be an integer >= 1, got {n_trials!r}")
    if n_jobs is not None and (not isinstance(n_jobs, int) or n_jobs < 1):
        raise ValueError(
            f"hydra.sweeper.n_jobs must be null (the launcher's workers) or an integer >= 1, got {n_jobs!r}"
        )
    if not 0.0 <= float(max_failure_rate) <= 1.0:
        raise ValueError(f"hydra.sweeper.max_failure_rate must be in [0, 1], got {max_failure_rate!r}")


def storage(spec: str) -> str:
    """Raise ValueError unless the storage is a journal file's path or a database URL."""
    if not (study.is_url(spec) or spec.endswith(".journal")):
        raise ValueError(
            f"hydra.sweeper.storage must be a path ending in .journal or a database URL "
            f"(postgresql+psycopg2://user@host/db), got {spec!r}"
        )
    return spec
