"""One search invocation: open or resume the study, keep its trials in flight, tell each outcome, report the best."""

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Tuple

from omegaconf import DictConfig, OmegaConf
from optuna.distributions import distribution_to_json

from sweep.process import signals
from sweep.search import resume, summary
from sweep.search.inflight import InFlight
from sweep.search.plan import SearchPlan
from sweep.search.trials import Trials
from sweep.tracking import store, study, trial_runs

# Hydra's launchers log three lines a launch call; with one call a trial, the sweeper's own line says it all.
QUIET_LOGGERS = (
    "hydra_plugins.hydra_joblib_launcher._core",
    "hydra_plugins.sweep_launchers.fused_launcher",
    "hydra_plugins.hydra_ray_launcher._core",
    "hydra_plugins.hydra_ray_launcher._launcher_util",
)


def say(line: str, **kwargs: Any) -> None:
    print(f"[search] {line}", flush=True, **kwargs)


def described(plan: SearchPlan) -> dict:
    """The search as the parent records it: the space (Optuna's JSON of each distribution), objective, options."""
    return {
        "study": plan.study_name,
        "distributions": {k: json.loads(distribution_to_json(d)) for k, d in plan.space.distributions.items()},
        "fixed": plan.space.fixed,
        "metrics": plan.objective.metrics,
        "directions": plan.objective.directions,
        "sampler": dict(plan.sampler),
        "pruner": plan.pruner,
        "n_trials": plan.n_trials,
    }


def folder(config: DictConfig) -> Path:
    """The sweep's folder, made, with the multirun's config saved in it as Hydra's own sweepers save it."""
    sweep_dir = Path(config.hydra.sweep.dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")
    return sweep_dir


def start(plan: SearchPlan, uri: str) -> Tuple[Any, Any, int, int]:
    """Open (or resume) the study, settle a dead search's trials, say where it stands; (study, storage, trials to
    run now, slots)."""
    opened, storage = resume.open_study(plan)
    for line in resume.recover(opened, storage, uri, plan.objective.metrics):
        say(line)
    before = resume.counted(opened)
    planned = max(0, plan.n_trials - before)
    slots = max(1, min(plan.slots, planned))
    say(
        f"study {plan.study_name} ({study.safe_storage(plan.storage)}): {before} of {plan.n_trials} trials ended "
        f"before, {planned} to run now, {slots} at a time"
    )
    return opened, storage, planned, slots


def run(plan: SearchPlan, launcher: Any, config: DictConfig) -> None:
    """Run the search to n_trials in total; exit 1 if trials failed, re-raise an interrupt."""
    sweep_dir = folder(config)
    uri, parent_id = store.resolve_uri(Path(config.hydra.runtime.cwd)), os.environ.get(store.ENV_PARENT)
    if not parent_id or os.environ.get(study.ENV_STUDY) != plan.study_name:  # Hydra turns a callback's error into
        sys.exit("error: the sweep's callback did not prepare this search (see Hydra's warning above)")  # a warning
    opened, storage, planned, slots = start(plan, uri)
    shown = study.safe_storage(plan.storage)
    if parent_id:
        trial_runs.describe_parent(
            uri, parent_id, {study.TAG_STUDY: plan.study_name, "optuna.storage": shown}, described(plan)
        )
    trials = Trials(plan, opened, storage, os.environ.get(store.ENV_SWEEP_ID, ""), planned)
    flight = InFlight(launcher, slots, trials.next_job, trials.done, trials.started)
    wall = fly(flight, trials, QUIET_LOGGERS)
    best = summary.answer(opened, plan)
    if parent_id:
        trial_runs.log_best(uri, parent_id, best)
    summary.save(best, sweep_dir)
    for line in summary.lines(best, uri, trials.asked, flight.busy_s / (slots * wall) if wall else None):
        say(line)
    end(trials)


def fly(flight: InFlight, trials: Trials, quiet: tuple) -> float:
    """Run the trials in flight (the launchers' `quiet` loggers hushed); its wall time. An interrupt fails them."""
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not trials.planned:
        return 0.0
    try:
        return flight.run(trials.stopping)
    except KeyboardInterrupt:
        trials.abandon("the search was interrupted")
        raise


def end(trials: Trials) -> None:
    if signals.interrupted.is_set():
        trials.abandon("the search was interrupted")
        raise KeyboardInterrupt("the search was interrupted")
    failed = trials.ended["FAIL"]
    if failed:
        stopped = trials.asked < trials.planned and trials.stopping()
        stopped = ", more than hydra.sweeper.max_failure_rate allows: the search stopped" if stopped else ""
        say(f"{failed} of {trials.asked} trials failed{stopped}", file=sys.stderr)
        sys.exit(1)
