"""`sweep.report(step, value)` inside a search trial's task: report to the trial, ask the search's pruner.

Hydra's launchers give a sweeper no channel into a running job, so the job prunes itself, as sweep.train's jobs do
(sweep.training.pruning): it opens its own trial in the study's storage (a journal file or a database, reachable from
every worker), reports, and asks `should_prune()`. A pruned trial gets the user attribute `sweep.pruned_at`; the
sweeper reads it when the task returns and tells the study PRUNED. Imports Optuna, never MLflow or TensorFlow.
"""

from typing import Dict, Tuple

import optuna

from sweep.tracking import study

_opened: Dict[Tuple[str, str, int], optuna.trial.Trial] = {}  # one open trial per job (a worker runs many jobs)


def _trial(link: study.TrialLink) -> optuna.trial.Trial:
    key = (link.storage, link.study, link.number)
    if key not in _opened:
        _opened.clear()
        _opened[key] = study.open_trial(link)
    return _opened[key]


def report(step: int, value: float) -> bool:
    """Report `value` at `step` to this job's trial; true once the pruner says the trial should stop."""
    link = study.TrialLink.from_env()
    if link is None or link.report is None:  # not a search, or several objectives (Optuna cannot prune those)
        return False
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"sweep.report: step must be an integer >= 0, got {step!r}")
    trial = _trial(link)
    try:
        trial.report(float(value), step)
        pruned = trial.should_prune()
    except optuna.exceptions.UpdateFinishedTrialError:  # the trial was closed meanwhile (its search died): stop
        return True
    if pruned:
        trial.set_user_attr(study.ATTR_PRUNED_AT, step)
    return pruned
