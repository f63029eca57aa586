"""Open the study (resuming it if it exists) and settle the trials an earlier search left RUNNING when it died."""

from typing import Any, List, Optional, Tuple

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.search import options
from sweep.search.plan import SearchPlan
from sweep.tracking import liveness, study, trial_runs


def _trial_count(storage: Any, name: str) -> int:
    try:
        return len(storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False))
    except KeyError:
        return 0


def open_study(plan: SearchPlan) -> Tuple[optuna.Study, Any]:
    """The study and its storage, created on the first run and loaded on the next ones.

    A seeded sampler is seeded with seed + the trials the study holds: a resumed search never replays the draws
    of the run it resumes (a random sampler would otherwise propose the very same trials again).
    """
    storage = study.open_storage(plan.storage)
    seed = plan.sampler["seed"]
    seed = None if seed is None else seed + _trial_count(storage, plan.study_name)
    sampler = options.sampler(plan.sampler["name"], plan.sampler["options"], seed)
    opened = optuna.create_study(
        study_name=plan.study_name,
        storage=storage,
        sampler=sampler,
        pruner=study.pruner(plan.pruner),
        directions=plan.objective.directions,
        load_if_exists=True,
    )
    return opened, storage


def _from_run(run: Any, metrics: List[str]) -> Tuple[TrialState, Optional[List[float]]]:
    """How a dead search's trial ended, by its run: FINISHED runs finished their trial (its job outlived the search)."""
    if run is None or run.info.status != "FINISHED":
        return TrialState.FAIL, None
    if study.TAG_PRUNED in run.data.tags:
        return TrialState.PRUNED, None
    values = [run.data.metrics.get(m) for m in metrics]
    return (TrialState.COMPLETE, values) if None not in values else (TrialState.FAIL, None)


def _dead(trial: FrozenTrial) -> bool:
    owner = trial.user_attrs.get(study.ATTR_OWNER)
    started_ms = int(trial.datetime_start.timestamp() * 1000) if trial.datetime_start else 0
    return isinstance(owner, dict) and liveness.is_dead(owner, started_ms)


def recover(opened: optuna.Study, storage: Any, uri: str, metrics: List[str]) -> List[str]:
    """Tell every RUNNING trial whose search process died how it ended (FAIL unless its run finished); say how."""
    lines = []
    study_id = storage.get_study_id_from_name(opened.study_name)
    for trial in opened.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _dead(trial):
            continue
        run = trial_runs.trial_run(uri, trial.user_attrs.get(study.ATTR_RUN_ID))
        state, values = _from_run(run, metrics)
        if state == TrialState.FAIL:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_user_attr(trial_id, study.ATTR_END_REASON, "its search process died")
        opened.tell(trial.number, state=state, values=values)
        lines.append(
            f"trial {trial.number} marked {state.name}: its search process died"
            + (f" (its run {run.info.run_id} is {run.info.status})" if run else " before its run started")
        )
    return lines


def counted(opened: optuna.Study) -> int:
    """Trials that count towards n_trials: complete, pruned, or failed on their own (not with a dead search)."""
    ended = opened.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
    return sum(1 for t in ended if t.state != TrialState.FAIL or study.ATTR_END_REASON not in t.user_attrs)
