"""Ask the study for trials and tell it how their jobs ended: COMPLETE with the objective, PRUNED, or FAIL."""

import math
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

import optuna
from hydra.core.utils import JobReturn
from optuna.trial import TrialState

from sweep.config.overrides import env_overrides
from sweep.process import errors, signals
from sweep.search.inflight import Job
from sweep.search.plan import SearchPlan
from sweep.tracking import liveness, study


def outcome(result: Any, metrics: List[str]) -> Tuple[TrialState, Optional[List[float]], str]:
    """(state, values, what to print) of a finished job: its JobReturn, or the exception its launch raised."""
    if isinstance(result, BaseException):
        return TrialState.FAIL, None, f"{type(result).__name__}: {result}"
    assert isinstance(result, JobReturn)
    try:
        value = result.return_value
    except errors.JobFailed as exc:  # the job's own failure, told in words (`DivergedError: …`)
        return TrialState.FAIL, None, str(exc)
    except Exception as exc:  # noqa: BLE001 - anything else the job raised, re-raised by Hydra's JobReturn
        return TrialState.FAIL, None, f"{type(exc).__name__}: {exc}"
    if not isinstance(value, dict) or "metrics" not in value:
        return TrialState.FAIL, None, f"the job returned {value!r}, not a trial's result"
    if value["pruned_at_epoch"]:
        return TrialState.PRUNED, None, f"pruned after epoch {value['pruned_at_epoch']}"
    values = [value["metrics"].get(m, float("nan")) for m in metrics]
    if not all(math.isfinite(v) for v in values):
        return TrialState.FAIL, None, f"{', '.join(metrics)} = {values}: not a number"
    shown = ", ".join(f"{m}={v:.4f}" for m, v in zip(metrics, values, strict=True))
    test = value["metrics"].get("test_accuracy")
    return TrialState.COMPLETE, values, shown + (f" (test_accuracy={test:.4f})" if test is not None else "")


Judge = Callable[[Any, optuna.trial.Trial], Tuple[TrialState, Optional[List[float]], str]]


class Halt(Exception):
    """Raised by a judge: this outcome means the search cannot go on (its message is the one line to show)."""


class Trials:
    """The search's side of its trials: ask up to `planned`, tell each outcome, stop past the failure budget.

    `judge(result, trial)` reads a job's outcome (default: sweep.train's result); `extend(trial)` may draw more of the
    trial's keys (a custom search space); `env` goes to every job's environment besides its trial number.
    """

    def __init__(
        self,
        plan: SearchPlan,
        opened: optuna.Study,
        storage: Any,
        sweep_id: str,
        planned: int,
        judge: Optional[Judge] = None,
        extend: Optional[Callable[[optuna.trial.Trial], Any]] = None,
        env: Optional[Dict[str, str]] = None,
    ):
        self.plan, self.study, self.sweep_id, self.planned = plan, opened, sweep_id, planned
        self.judge = judge or (lambda result, trial: outcome(result, plan.objective.metrics))
        self.extend, self.env = extend, dict(env or {})
        self.halted: Optional[str] = None  # set when a judge halts the search
        self.storage, self.study_id = storage, storage.get_study_id_from_name(opened.study_name)
        self.allowed_failures = math.floor(plan.max_failure_rate * planned)
        self.asked = 0
        self.ended: Dict[str, int] = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
        self.in_flight: Dict[int, optuna.trial.Trial] = {}
        self._lock = threading.Lock()

    def stopping(self) -> bool:
        """Whether no more trials may start: interrupted, or more failures than max_failure_rate allows."""
        return signals.interrupted.is_set() or self.ended["FAIL"] > self.allowed_failures or bool(self.halted)

    def next_job(self) -> Optional[Job]:
        """Ask the study for the next trial and turn it into a job (None when the search is done)."""
        with self._lock:
            if self.asked >= self.planned or self.stopping():
                return None
            trial = self.study.ask(fixed_distributions=self.plan.space.distributions)
            if self.extend is not None:
                self.extend(trial)
            self.asked += 1
            self.in_flight[trial.number] = trial
            name = self.plan.space.name(trial.params)
            for key, value in (
                (study.ATTR_NAME, name),
                (study.ATTR_OWNER, liveness.owner_tags()),
                (study.ATTR_SWEEP, self.sweep_id),
            ):
                trial.set_user_attr(key, value)
            print(f"[search] trial {trial.number} started: {name}", flush=True)  # in order, slots start at once
        space = self.plan.space
        more = [f"{k}={v}" for k, v in trial.params.items() if k not in space.distributions]  # drawn by `extend`
        overrides = space.overrides(trial.params) + more + env_overrides({study.ENV_TRIAL: trial.number, **self.env})
        return Job(overrides, trial.number, trial)

    def started(self, job: Job) -> bool:
        """Whether the job's trial has its run (the job is running)."""
        trial_id = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, job.index)
        return study.ATTR_RUN_ID in self.storage.get_trial(trial_id).user_attrs

    def done(self, job: Job, result: Any, seconds: float) -> None:
        """Tell the study how the job ended, once."""
        try:
            state, values, shown = self.judge(result, self.in_flight.get(job.index))
        except Halt as exc:
            state, values, shown = TrialState.FAIL, None, str(exc)
            self.halted = self.halted or shown
        interrupted = signals.interrupted.is_set() and state == TrialState.FAIL
        shown = f"the search was interrupted ({shown})" if interrupted else shown
        with self._lock:
            trial = self.in_flight.pop(job.index, None)
            if trial is None:
                return
            if state == TrialState.FAIL:
                trial.set_user_attr("sweep.failure", shown[:1000])
                if interrupted:
                    trial.set_user_attr(study.ATTR_END_REASON, "the search was interrupted")
            self.study.tell(trial, state=state, values=values)
            self.ended[state.name] += 1
        print(f"[search] trial {job.index} {state.name} ({seconds:.0f} s): {shown}", flush=True)

    def abandon(self, reason: str) -> None:
        """Fail every trial still in flight (the search is going down) so that none stays RUNNING."""
        with self._lock:
            for number, trial in list(self.in_flight.items()):
                trial.set_user_attr(study.ATTR_END_REASON, reason)
                self.study.tell(trial, state=TrialState.FAIL)
                self.in_flight.pop(number)
