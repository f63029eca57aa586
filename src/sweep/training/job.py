"""One cell of the study: load data, build, fit, evaluate, and track it all in one MLflow run."""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional

import keras
from omegaconf import OmegaConf

from sweep import data
from sweep.config import cells, checks
from sweep.tracking import models, retries, runs, store, study
from sweep.training import curves, export, model, progress
from sweep.training.evaluate import evaluate, from_history
from sweep.training.fit import fit
from sweep.training.pruning import ReportToTrial, trial_result, trial_tags
from sweep.training.runtime import Phases, peak_rss_mb, set_threads, settle_memory


@dataclass
class JobContext:
    """What a job knows about its launch: store, sweep, its groups' options, the swept keys, position, Hydra's files."""

    uri: str
    sweep_id: str
    choices: Dict[str, str]  # each config group's chosen option (reg, act, data, speed)
    swept: List[str] = field(default_factory=list)  # the keys the sweep varies (sweep.config.cells)
    config_dir: Optional[Path] = None
    index: int = 1
    total: Optional[int] = None
    in_sweep: bool = False  # a job of a multirun: no Keras bars; lines, or nothing under a live display
    trial: Optional[study.TrialLink] = None  # a search trial: the study and trial number it reports to
    trial_name: Optional[str] = None  # the run name its search gave the trial (its drawn values)

    def position(self) -> str:
        """Where the job stands: `cell 3 of 8`, or a search's `trial 12`."""
        if self.trial:
            return f"trial {self.trial.number}"
        return f"cell {self.index} of {self.total}" if self.total else f"cell {self.index}"

    def names(self, cfg: Any) -> "tuple[str, str]":
        """The job's cell name and run name (a search trial's run is named by its drawn values)."""
        cell = cells.name(cells.values(cfg, self.choices, self.swept))
        return cell, self.trial_name or cells.run_name(cell, cfg, self.swept)


def load_data(cfg: Any) -> data.Dataset:
    """The job's data set, loaded and normalized once per process."""
    return data.load(cfg.data.name, cfg.data.path, cfg.data.limit)


def _already_finished(cfg: Any, ctx: JobContext, experiment_id: str, digest: str) -> Optional[Any]:
    if cfg.retrain:
        return None
    return store.finished_runs(ctx.uri, experiment_id, digest).get(digest)


def params(cfg: Any, ctx: JobContext, shape: data.Shape) -> Dict[str, Any]:
    """The run's params: the flattened config, each group's option by its group's name, the data's shape."""
    flat = runs.flatten(OmegaConf.to_container(cfg, resolve=True))
    return {**flat, **ctx.choices, "data.image_shape": cells.text(shape.image), "data.classes": shape.classes}


def train_and_log(
    cfg: Any, ctx: JobContext, ds: data.Dataset, phases: Phases, reporter: Optional[ReportToTrial] = None
) -> Dict[str, float]:
    """Inside the job's run: build, fit, evaluate and log everything; return the final metrics.

    A search trial that its pruner stopped logs what its epochs tell and the tag pruned_at_epoch, and neither
    evaluates on the test set nor logs a model: it is not a full-length result.
    """
    stored = data.raw(cfg.data.name, cfg.data.path)  # as stored: the logged model takes these images
    shape = data.shape(stored)
    with phases("log_params"):
        runs.log_params(params(cfg, ctx, shape))
    with phases("build"):
        keras.backend.clear_session(free_memory=False)  # settle_memory collects, then freezes what survives
        settle_memory()
        keras.utils.set_random_seed(cfg.train.seed)
        net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, shape)
    with phases("fit"):
        shown = progress.callbacks(ctx.names(cfg)[1], cfg.train.epochs, ctx.in_sweep)
        extra = [reporter] if reporter else []
        fitted = fit(net, ds, cfg.train, cfg.speed, shown, progress.keras_verbose(ctx.in_sweep), extra)
        history = fitted.history
    pruned = reporter.stopped(history) if reporter else None
    with phases("evaluate"):
        if pruned:
            final = from_history(history, phases.seconds["time_fit_s"])
        else:
            final = evaluate(fitted.model, ds, history, phases.seconds["time_fit_s"], cfg.speed)
    with phases("log_metrics"):
        runs.log_final(final)
        runs.set_tags({study.TAG_PRUNED: pruned} if pruned else {})
    with phases("log_plots"):
        runs.log_figures(curves.learning_curves(history, ctx.names(cfg)[1]))
    with phases("log_config"):
        runs.log_config_files(ctx.config_dir)
    if not pruned:
        with phases("log_model"):
            models.log_model(export.serving_model(net, shape.image), stored.x_test[:5])  # takes raw images
    runs.log_final({**phases.seconds, "peak_rss_mb": peak_rss_mb()})
    return {**{k: v[-1] for k, v in history.items()}, **final}  # the last epoch's, already logged per epoch


def run(cfg: Any, ctx: JobContext) -> Any:
    """Train and evaluate one cell, logging everything to MLflow; return its test accuracy.

    A search trial (ctx.trial) reports to its trial every epoch and returns trial_result(...) instead.
    """
    checks.validate(cfg)
    data.raw(cfg.data.name, cfg.data.path)  # missing or corrupt data fails before the store is touched
    digest = cells.config_hash(cfg)
    trial = study.open_trial(ctx.trial) if ctx.trial else None
    ctx = replace(ctx, trial_name=trial.user_attrs.get(study.ATTR_NAME)) if trial else ctx
    (cell, run_name), position = ctx.names(cfg), ctx.position()
    with retries.explained(ctx.uri):  # the store down past the retry budget: one line that says so
        experiment_id = runs.job_experiment(ctx.uri, cfg.mlflow.experiment)
        done = None if trial else _already_finished(cfg, ctx, experiment_id, digest)  # every trial trains
    if done:
        if not ctx.in_sweep:  # the sweep's parent has said how many cells it skips, once
            print(
                f"[sweep] {run_name} skipped: FINISHED before as run {done.info.run_id} (retrain=true trains it again)",
                flush=True,
            )
        return float(done.data.metrics.get("test_accuracy", float("nan")))
    phases = Phases()
    with phases("data"):
        ds = load_data(cfg)  # loaded and normalized once per process, reused by its later jobs
    progress.say(f"[sweep] {position}: {run_name}", ctx.in_sweep)
    tags = {
        store.TAG_SWEEP: ctx.sweep_id,
        store.TAG_CELL: cell,
        store.TAG_CELL_HASH: cells.cell_hash(cfg),
        store.TAG_HASH: digest,
        "sweep.intra_op_threads": str(set_threads(cfg.speed)),
        **trial_tags(ctx.trial, trial),
    }
    reporter = ReportToTrial(trial, ctx.trial.report, cfg.train.epochs) if trial else None
    with runs.job_run(ctx.uri, experiment_id, run_name, tags) as tracked:
        if trial:
            trial.set_user_attr(study.ATTR_RUN_ID, tracked.info.run_id)
        final = train_and_log(cfg, ctx, ds, phases, reporter)
    progress.say_result(run_name, final, reporter.pruned_at if reporter else None, ctx.in_sweep)
    return trial_result(tracked.info.run_id, final, reporter) if trial else float(final["test_accuracy"])
