"""One cell of the study: check it, skip it if done, else load data, build, fit, evaluate, and track it in a run."""

from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Dict, Iterator, List, Optional, Union

from sweep import data
from sweep.config import cells, checks, limits
from sweep.tracking import retries, runs, store, study
from sweep.training import model, progress
from sweep.training.cell import Cell, JobContext
from sweep.training.evaluate import evaluate, from_history
from sweep.training.fit import fit
from sweep.training.pruning import ReportToTrial, trial_result
from sweep.training.runtime import Phases, set_threads
from sweep.training.steps import build, load_data, log_results, settle

TAG_LOOP = "sweep.loop"  # the loop a cell trained with where it differs from its speed.loop (docs/models.md)

__all__ = ["Cell", "JobContext", "collecting", "prepare", "run", "train"]


_collected: Optional[List[Cell]] = None


@contextmanager
def collecting() -> Iterator[List[Cell]]:
    """Inside, run() checks and names its cell and adds it to the list instead of training it (a fused job's cells)."""
    global _collected
    _collected, outer = [], _collected
    try:
        yield _collected
    finally:
        _collected = outer


def prepare(cfg: Any, ctx: JobContext) -> Union[Cell, float]:
    """Check and name the job's cell; the test accuracy of its FINISHED run instead if it needs no training."""
    checks.validate(cfg)
    limits.read_data(cfg)  # missing or corrupt data, or a limit too small, fails before the store is touched
    trial = study.open_trial(ctx.trial) if ctx.trial else None
    ctx = replace(ctx, trial_name=trial.user_attrs.get(study.ATTR_NAME)) if trial else ctx
    cell_name, run_name = ctx.names(cfg)
    digest = cells.config_hash(cfg)
    with retries.explained(ctx.uri):  # the store down past the retry budget: one line that says so
        experiment_id = runs.job_experiment(ctx.uri, cfg.mlflow.experiment)
        skip = trial is not None or cfg.retrain  # every trial trains
        done = None if skip else store.finished_runs(ctx.uri, experiment_id, digest).get(digest)
    if not done:
        return Cell(cfg, ctx, experiment_id, cell_name, run_name, trial)
    if not ctx.in_sweep:  # the sweep's parent has said how many cells it skips, once
        print(
            f"[sweep] {run_name} skipped: FINISHED before as run {done.info.run_id} (retrain=true trains it again)",
            flush=True,
        )
    return float(done.data.metrics.get("test_accuracy", float("nan")))


def _train_and_log(cell: Cell, ds: data.Dataset, phases: Phases, reporter: Optional[ReportToTrial]) -> Dict[str, float]:
    """Inside the cell's run: build, fit, evaluate and log everything; return the final metrics.

    A search trial that its pruner stopped logs what its epochs tell and is not evaluated on the test set.
    """
    cfg, ctx = cell.cfg, cell.ctx
    speed, unfused = model.speed_for(cfg)
    if unfused:  # said once, and recorded: the run's params keep the config's speed.loop
        cell.say(f"[sweep] {unfused}")
        runs.set_tags({TAG_LOOP: speed.loop})
    with phases("build"):
        settle()
    net = build(cell, phases)
    with phases("fit"):
        shown = progress.callbacks(cell.run_name, cfg.train.epochs, ctx.in_sweep)
        extra = [reporter] if reporter else []
        key = (cells.cell_hash(cfg),)  # a later job of this cell in this process reuses the compiled loop
        fitted = fit(net, ds, cfg.train, speed, shown, progress.keras_verbose(ctx.in_sweep), extra, key)
    history = fitted.history
    pruned = reporter.stopped(history) if reporter else None
    with phases("evaluate"):
        if pruned:
            final = from_history(history, phases.seconds["time_fit_s"])
        else:
            final = evaluate(fitted.model, ds, history, phases.seconds["time_fit_s"], speed)
    return log_results(cell, net, history, final, phases, pruned)


def train(cell: Cell) -> Any:
    """Train and evaluate one cell alone in its own run; return its test accuracy (a trial's trial_result)."""
    phases, cfg, ctx, trial = Phases(), cell.cfg, cell.ctx, cell.trial
    with phases("data"):
        ds = load_data(cfg)  # loaded and normalized once per process, reused by its later jobs
    cell.announce()
    reporter = ReportToTrial(trial, ctx.trial.report, cfg.train.epochs) if trial else None
    with runs.job_run(ctx.uri, cell.experiment_id, cell.run_name, cell.tags(set_threads(cfg.speed))) as tracked:
        if trial:
            trial.set_user_attr(study.ATTR_RUN_ID, tracked.info.run_id)
        final = _train_and_log(cell, ds, phases, reporter)
    progress.say_result(cell.run_name, final, reporter.pruned_at if reporter else None, ctx.in_sweep)
    return trial_result(tracked.info.run_id, final, reporter) if trial else float(final["test_accuracy"])


def run(cfg: Any, ctx: JobContext) -> Any:
    """Train and evaluate one cell, logging everything to MLflow; return its test accuracy.

    A search trial (ctx.trial) reports to its trial every epoch and returns trial_result(...) instead. Inside
    `collecting()`, a cell is only checked and named: a fused job trains its cells together (sweep.training.fused).
    """
    cell = prepare(cfg, ctx)
    if not isinstance(cell, Cell):
        return cell
    if _collected is not None and cell.trial is None:
        _collected.append(cell)
        return float("nan")  # the fused job replaces it with the cell's test accuracy
    return train(cell)
