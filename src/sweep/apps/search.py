"""hydra/sweeper=search in any Hydra app: the task's return value is the trial's result, `sweep.report` prunes.

The same study, sampler, pruner, slots and resume as in sweep.train (sweep.search), without sweep's multirun callback:
the options are checked here, before the study exists, and a task whose result holds no objective stops the search
with one line (exit 2) and takes back the study this invocation created.
"""

import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import optuna
from hydra.utils import get_method
from omegaconf import DictConfig
from optuna.trial import TrialState

from sweep.apps import returns, tracking
from sweep.config import app_kind as kind
from sweep.launch import preflight
from sweep.search import driver, summary
from sweep.search import plan as search_plan
from sweep.search.inflight import InFlight
from sweep.search.plan import SearchPlan
from sweep.search.trials import Halt, Judge, Trials
from sweep.tracking import study


def judge(plan: SearchPlan, storage: Any) -> Judge:
    """How an app's trial ended: PRUNED if sweep.report said so, else the objective read from its return value."""
    objective, study_id = plan.objective, storage.get_study_id_from_name(plan.study_name)

    def attrs(trial: Optional[optuna.trial.Trial]) -> dict:  # from the storage: a Trial object caches its own copy
        if trial is None:
            return {}
        return storage.get_trial(storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)).user_attrs

    def read(result: Any, trial: Optional[optuna.trial.Trial]) -> Tuple[TrialState, Optional[List[float]], str]:
        if isinstance(result, BaseException):
            return TrialState.FAIL, None, f"{type(result).__name__}: {result}"
        try:
            value = result.return_value
        except Exception as exc:  # noqa: BLE001 - the task raised: Hydra's JobReturn re-raises it here
            return TrialState.FAIL, None, f"{type(exc).__name__}: {exc}"
        pruned_at = attrs(trial).get(study.ATTR_PRUNED_AT)
        if pruned_at is not None:
            return TrialState.PRUNED, None, f"pruned at step {pruned_at}"
        try:
            found = returns.values(value, objective.metrics if objective.keyed else None, len(objective.directions))
        except returns.BadReturn as exc:
            raise Halt(str(exc)) from None
        if not returns.finite(found):
            return TrialState.FAIL, None, f"{', '.join(objective.metrics)} = {found}: not a finite number"
        return (
            TrialState.COMPLETE,
            found,
            ", ".join(f"{m}={v:.6g}" for m, v in zip(objective.metrics, found, strict=True)),
        )

    return read


def _extender(plan: SearchPlan, config: DictConfig) -> Optional[Callable[[optuna.trial.Trial], Any]]:
    if not plan.custom_space:
        return None
    extend = get_method(plan.custom_space)
    return lambda trial: extend(config, trial)  # as Hydra's Optuna sweeper calls it: (the sweep's config, trial)


def _halt(plan: SearchPlan, config: DictConfig, line: str, new: bool, had_file: bool) -> None:
    """Stop on a bad result: remove the study this invocation created (its journal file too, if it made it), exit 2."""
    if new and not study.is_url(plan.storage) and not had_file:
        Path(plan.storage).unlink(missing_ok=True)
    elif new:
        optuna.delete_study(study_name=plan.study_name, storage=study.open_storage(plan.storage))
    tracking.abandon(config)
    print(f"error: {line}", file=sys.stderr)
    sys.exit(2)


def run(config: DictConfig, launcher: Any) -> None:
    """Check, then search to n_trials in total; exit 2 on a bad option or result, 1 if trials failed."""
    with preflight.fatal():
        plan = search_plan.make(config)
    sweep_dir = driver.folder(config)
    had_file = Path(plan.storage).is_file() if not study.is_url(plan.storage) else True
    new = study.existing_directions(plan.storage, plan.study_name) is None
    opened, storage, planned, slots = driver.start(plan, "")
    env = {**plan.link().env(), **tracking.begin(config)}  # the parent run, only now that the checks passed
    trials = Trials(plan, opened, storage, "", planned, judge(plan, storage), _extender(plan, config), env)
    flight = InFlight(launcher, slots, trials.next_job, trials.done, lambda job: False)
    wall = driver.fly(flight, trials, kind.QUIET_LOGGERS)
    if trials.halted:
        _halt(plan, config, trials.halted, new, had_file)
    best = summary.answer(opened, plan)
    summary.save(best, sweep_dir)
    tracking.log_files(config, [sweep_dir / "optimization_results.yaml"])
    for line in summary.lines(best, "", trials.asked, flight.busy_s / (slots * wall) if wall else None):
        driver.say(line)
    driver.end(trials)
