"""One cell of the study: check it, skip it if done, else load data, build, fit, evaluate, and track it in a run."""

from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Union

from sweep import data
from sweep.config import cells, checks
from sweep.tracking import runs, store
from sweep.training import progress
from sweep.training.cell import Cell, JobContext
from sweep.training.evaluate import evaluate
from sweep.training.fit import fit
from sweep.training.runtime import Phases, set_threads
from sweep.training.steps import build, load_data, log_results, settle

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
    data.raw(cfg.data.name, cfg.data.path)  # missing or corrupt data fails before the store is touched
    cell_name, run_name = ctx.names(cfg)
    experiment_id = runs.job_experiment(ctx.uri, cfg.mlflow.experiment)
    digest = cells.config_hash(cfg)
    done = None if cfg.retrain else store.finished_runs(ctx.uri, experiment_id, digest).get(digest)
    if not done:
        return Cell(cfg, ctx, experiment_id, cell_name, run_name)
    if not ctx.in_sweep:  # the sweep's parent has said how many cells it skips, once
        print(f"[sweep] {run_name} skipped: FINISHED before as run {done.info.run_id} (retrain=true trains it again)")
    return float(done.data.metrics.get("test_accuracy", float("nan")))


def train(cell: Cell) -> float:
    """Train and evaluate one cell alone in its own run; return its test accuracy."""
    phases, cfg, ctx = Phases(), cell.cfg, cell.ctx
    with phases("data"):
        ds = load_data(cfg)  # loaded and normalized once per process, reused by its later jobs
    cell.announce()
    with runs.job_run(ctx.uri, cell.experiment_id, cell.run_name, cell.tags(set_threads(cfg.speed))):
        with phases("build"):
            settle()
        net = build(cell, phases)
        with phases("fit"):
            shown = progress.callbacks(cell.run_name, cfg.train.epochs, ctx.in_sweep)
            key = (cells.cell_hash(cfg),)  # a later job of this cell in this process reuses the compiled loop
            fitted = fit(net, ds, cfg.train, cfg.speed, shown, progress.keras_verbose(ctx.in_sweep), key)
        with phases("evaluate"):
            final = evaluate(fitted.model, ds, fitted.history, phases.seconds["time_fit_s"], cfg.speed)
        log_results(cell, net, fitted.history, final, phases)
    return float(final["test_accuracy"])


def run(cfg: Any, ctx: JobContext) -> float:
    """Train and evaluate one cell, logging everything to MLflow; return its test accuracy.

    Inside `collecting()`, only check and name it: a fused job trains its cells together (sweep.training.fused).
    """
    cell = prepare(cfg, ctx)
    if not isinstance(cell, Cell):
        return cell
    if _collected is not None:
        _collected.append(cell)
        return float("nan")  # the fused job replaces it with the cell's test accuracy
    return train(cell)
