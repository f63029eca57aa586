"""Cells that train together (a fused job): one compiled loop, the same batches, each cell in its own run.

What a user sees is what separate jobs give: one run per cell with its params, tags, per-epoch metrics, final
metrics, plots, Hydra files and model. A run also has tags `sweep.fused_group` and `sweep.fused_cells`; its
`fit_time_s` and `epoch_time_s` are its group's, its `time_fit_s` and `time_evaluate_s` its share of them.
A cell whose loss diverges ends FAILED at the end of that epoch, as alone; the others train on, unaltered (no net's
math depends on another's: sweep.training.loop). An error that is no cell's own fails every cell of the group.
"""

import math
import uuid
from typing import Any, Callable, Dict, List

import keras

from sweep.config import cells as cell_ids
from sweep.config import fusion
from sweep.process import signals
from sweep.tracking import detached, epochs, runs
from sweep.training import loop, progress, steps
from sweep.training.cell import Cell
from sweep.training.evaluate import evaluate_cells
from sweep.training.fit import StopOnSignal, diverged
from sweep.training.runtime import Phases, set_threads

TAG_GROUP, TAG_GROUP_SIZE = "sweep.fused_group", "sweep.fused_cells"


class PerCell(keras.callbacks.Callback):
    """Hands each cell its own epoch logs, history and callbacks; ends a cell whose loss diverged at its epoch's end."""

    def __init__(self, callbacks: List[List[Any]], ended: Callable[[int, Dict[str, list]], None]):
        super().__init__()
        self.callbacks, self.ended = callbacks, ended
        self.histories: List[Dict[str, list]] = [{} for _ in callbacks]
        self.alive, self.diverging = list(range(len(callbacks))), set()

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        for i in self.alive:
            for callback in self.callbacks[i]:
                callback.on_epoch_begin(epoch)

    def on_train_end(self, logs: Any = None) -> None:
        for callbacks in self.callbacks:  # every cell's, ended or not: its per-epoch metrics reach the store
            for callback in callbacks:
                callback.on_train_end()

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.diverging.update(i for i in self.alive if not math.isfinite(float(logs[f"loss_{i}"])))
        if set(self.alive) <= self.diverging:  # nothing left to train
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        for i in list(self.alive):
            mine = {key: float(logs[f"{key}_{i}"]) for key in progress.METRICS}
            for key, value in mine.items():
                self.histories[i].setdefault(key, []).append(value)
            for callback in self.callbacks[i]:
                callback.on_epoch_end(epoch, mine)
            if i in self.diverging or not math.isfinite(mine["loss"]):
                self.alive.remove(i)
                self.ended(i, self.histories[i])


def _fail(cell: Cell, run_id: str, exc: BaseException) -> BaseException:
    """End the cell's run FAILED with the error's reason and traceback, as a job of its own would; return the error."""
    try:
        with runs.job_run(cell.ctx.uri, cell.experiment_id, cell.run_name, {}, run_id=run_id):
            raise exc
    except type(exc):
        pass
    return exc


def _fit(group: List[Cell], nets: list, ds: Any, run_ids: List[str], results: list) -> Any:
    def ended(i: int, history: Dict[str, list]) -> None:
        results[i] = _fail(group[i], run_ids[i], diverged(history, group[i].cfg.train))

    per_cell = PerCell(
        [
            [epochs.EpochMetrics(run_id), *progress.callbacks(c.run_name, c.cfg.train.epochs, c.ctx.in_sweep)]
            for c, run_id in zip(group, run_ids, strict=True)
        ],
        ended,
    )
    cfg, key = group[0].cfg, tuple(cell_ids.cell_hash(c.cfg) for c in group)
    with signals.deferred():  # Ctrl-C/SIGTERM stop training at a chunk's end, then interrupt the job
        fitted = loop.fit(nets, ds.x_train, ds.y_train, cfg.train, cfg.speed, [per_cell, StopOnSignal()], 0, key=key)
    return fitted, per_cell


def _share(phases: Phases, mine: Phases, cells: int) -> Phases:
    mine.seconds["time_data_s"] = phases.seconds.get("time_data_s", 0.0)
    for name in ("build", "fit", "evaluate"):
        mine.seconds[f"time_{name}_s"] = (
            mine.seconds.get(f"time_{name}_s", 0.0) + phases.seconds[f"time_{name}_s"] / cells
        )
    return mine


def train_cells(group: List[Cell]) -> List[Any]:
    """Train cells that share their data, batches and seed in one loop, each in its own run.

    Returns, per cell, its test accuracy or the error that ended it.
    """
    phases, cfg = Phases(), group[0].cfg
    if not all(fusion.can_fuse(c.cfg) for c in group):  # never silently another computation
        raise ValueError("only the MLP family trains fused (sweep.config.fusion.can_fuse)")
    with phases("data"):
        ds = steps.load_data(cfg)
    threads, together = set_threads(cfg.speed), {TAG_GROUP: uuid.uuid4().hex[:12], TAG_GROUP_SIZE: str(len(group))}
    run_ids = []
    for cell in group:
        cell.announce()
        tags = {**cell.tags(threads), **together}
        run_ids.append(detached.open_job_run(cell.ctx.uri, cell.experiment_id, cell.run_name, tags))
    results: List[Any] = [None] * len(group)
    own = [Phases() for _ in group]
    try:
        with phases("build"):
            steps.settle()
        nets = [steps.build(cell, mine, run_id) for cell, mine, run_id in zip(group, own, run_ids, strict=True)]
        with phases("fit"):
            fitted, per_cell = _fit(group, nets, ds, run_ids, results)
        with phases("evaluate"):
            finals = evaluate_cells(fitted.model, ds, per_cell.histories, phases.seconds["time_fit_s"], cfg.speed)
    except KeyboardInterrupt:
        for run_id, result in zip(run_ids, results, strict=True):
            if result is None:
                detached.end_job_run(group[0].ctx.uri, run_id, "KILLED", "interrupted (Ctrl-C or SIGTERM)")
        raise
    except Exception as exc:  # no cell's own: every cell still training fails with it
        return [r if r is not None else _fail(c, i, exc) for c, i, r in zip(group, run_ids, results, strict=True)]
    for i in per_cell.alive:
        results[i] = _finish(
            group[i], run_ids[i], nets[i], per_cell.histories[i], finals[i], _share(phases, own[i], len(group))
        )
    return results


def _finish(cell: Cell, run_id: str, net: keras.Model, history: Dict[str, list], final: dict, phases: Phases) -> Any:
    """Log one cell's results into its run, resumed; its test accuracy, or the error that failed only this cell."""
    try:
        with runs.job_run(cell.ctx.uri, cell.experiment_id, cell.run_name, {}, run_id=run_id):
            shown = steps.log_results(cell, net, history, final, phases)
    except Exception as exc:
        return exc
    progress.say_result(cell.run_name, shown, None, cell.ctx.in_sweep)
    return float(final["test_accuracy"])
