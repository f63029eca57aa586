"""A search trial's side of pruning: report the validation metric after every epoch, stop when the pruner says so.

No sweeper can stop a running job through Hydra's launchers (their API is batch-wise and returns final values only),
so the job prunes itself: it reports to its own trial in the study and asks the search's pruner after each epoch.
"""

import json
from typing import Any, Dict, Optional

import keras
import optuna

from sweep.tracking import runs, study


class ReportToTrial(keras.callbacks.Callback):
    """After each epoch: report `metric` to the trial at step = epoch (from 1), and stop training if pruned.

    Never prunes after the last epoch: a trial that ran its full length is a full-length result. A trial that was
    closed meanwhile (a later start of the search found its search process dead and marked it failed) stops too.
    """

    def __init__(self, trial: optuna.trial.Trial, metric: Optional[str], epochs: int):
        super().__init__()
        self.trial, self.metric, self.epochs = trial, metric, epochs
        self.pruned_at: Optional[int] = None
        self.closed = False

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        if self.metric is None:  # multi-objective: Optuna cannot prune, nothing to report
            return
        step = epoch + 1
        try:
            self.trial.report(float((logs or {})[self.metric]), step)
            prune = step < self.epochs and self.trial.should_prune()
        except optuna.exceptions.UpdateFinishedTrialError:
            self.closed = True
            self.model.stop_training = True
            return
        if prune:
            self.pruned_at = step
            self.model.stop_training = True

    def stopped(self, history: Dict[str, list]) -> Optional[int]:
        """After fit: the epoch the trial was pruned at (None: it ran its full length); raise if it was closed."""
        if self.closed:
            raise TrialClosed(
                f"trial {self.trial.number} was closed while it trained, after epoch {len(history['loss'])} "
                "(a later start of the search found its search process dead)"
            )
        return self.pruned_at


class TrialClosed(runs.RunKilled):
    """The job's trial was closed by someone else while it trained (its search died); the job stopped."""


def trial_tags(link: Optional[study.TrialLink], trial: Optional[optuna.trial.Trial]) -> Dict[str, str]:
    """The tags that tie a trial's run to its study, trial number and drawn values (none outside a search)."""
    if link is None or trial is None:
        return {}
    return {study.TAG_STUDY: link.study, study.TAG_TRIAL: str(link.number), study.TAG_PARAMS: json.dumps(trial.params)}


def trial_result(run_id: str, metrics: Dict[str, float], reporter: ReportToTrial) -> Dict[str, Any]:
    """What a trial's job returns to the sweeper: its run, the epoch it was pruned at (or None), its metrics."""
    return {
        "run_id": run_id,
        "pruned_at_epoch": reporter.pruned_at,
        "metrics": {k: float(v) for k, v in metrics.items()},
    }
