"""One cell of the study: load data, build, fit, evaluate, and track it all in one MLflow run."""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Optional

import keras
from omegaconf import OmegaConf

from sweep import data
from sweep.config import checks, schema
from sweep.tracking import models, runs, store, study
from sweep.training import curves, dropout, model
from sweep.training.evaluate import evaluate, from_history
from sweep.training.fit import fit
from sweep.training.pruning import ReportToTrial, trial_result, trial_tags
from sweep.training.runtime import Phases, peak_rss_mb, set_threads, settle_memory


@dataclass
class JobContext:
    """What a job knows about its launch: store, names, position in the sweep, Hydra's config files."""

    uri: str
    run_name: str
    sweep_id: str
    choices: Dict[str, str]
    config_dir: Optional[Path] = None
    index: int = 1
    total: Optional[int] = None
    trial: Optional[study.TrialLink] = None  # a search trial: the study and trial number it reports to


def load_data(cfg: Any) -> data.Dataset:
    """The job's data set, loaded and normalized once per process."""
    return data.load(cfg.data.name, cfg.data.path, cfg.data.limit)


def _already_finished(cfg: Any, ctx: JobContext, experiment_id: str, digest: str) -> Optional[Any]:
    if cfg.retrain:
        return None
    return store.finished_runs(ctx.uri, experiment_id, digest).get(digest)


def train_and_log(
    cfg: Any, ctx: JobContext, ds: data.Dataset, phases: Phases, reporter: Optional[ReportToTrial] = None
) -> Dict[str, float]:
    """Inside the job's run: build, fit, evaluate and log everything; return the final metrics.

    A search trial that its pruner stopped logs what its epochs tell and the tag pruned_at_epoch, and neither
    evaluates on the test set nor logs a model: it is not a full-length result.
    """
    with phases("log_params"):
        runs.log_params({**runs.flatten(OmegaConf.to_container(cfg, resolve=True)), **ctx.choices})
    with phases("build"):
        keras.backend.clear_session(free_memory=False)  # settle_memory collects, then freezes what survives
        settle_memory()
        keras.utils.set_random_seed(cfg.train.seed)
        net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed)
    with phases("fit"):
        fitted = fit(net, ds, cfg.train, cfg.speed, [reporter] if reporter else [])
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
        runs.log_figures(curves.learning_curves(history, ctx.run_name))
    with phases("log_config"):
        runs.log_config_files(ctx.config_dir)
    if not pruned:
        with phases("log_model"):
            models.log_model(dropout.exportable(net), ds.x_test[:5])  # plain Keras layers
    runs.log_final({**phases.seconds, "peak_rss_mb": peak_rss_mb()})
    return {**{k: v[-1] for k, v in history.items()}, **final}


def run(cfg: Any, ctx: JobContext) -> Any:
    """Train and evaluate one cell, logging everything to MLflow; return its test accuracy.

    A search trial (ctx.trial) reports to its trial every epoch and returns trial_result(...) instead.
    """
    checks.validate(cfg)
    data.raw(cfg.data.name, cfg.data.path)  # missing or corrupt data fails before the store is touched
    digest = schema.config_hash(cfg)
    position = f"cell {ctx.index} of {ctx.total}" if ctx.total else f"cell {ctx.index}"
    position = f"trial {ctx.trial.number}" if ctx.trial else position
    experiment_id = runs.job_experiment(ctx.uri, cfg.mlflow.experiment)
    trial = study.open_trial(ctx.trial) if ctx.trial else None
    ctx = replace(ctx, run_name=trial.user_attrs.get(study.ATTR_NAME, ctx.run_name)) if trial else ctx
    done = None if trial else _already_finished(cfg, ctx, experiment_id, digest)  # every trial trains
    if done:
        print(
            f"[sweep] {position}: {ctx.run_name} skipped: FINISHED before as run {done.info.run_id} "
            "(retrain=true trains it again)",
            flush=True,
        )
        return float(done.data.metrics.get("test_accuracy", float("nan")))
    phases = Phases()
    with phases("data"):
        ds = load_data(cfg)  # loaded and normalized once per process, reused by its later jobs
    print(f"[sweep] {position}: {ctx.run_name}", flush=True)
    tags = {
        store.TAG_SWEEP: ctx.sweep_id,
        store.TAG_CELL: ctx.run_name,
        store.TAG_HASH: digest,
        "sweep.intra_op_threads": str(set_threads(cfg.speed)),
        **trial_tags(ctx.trial, trial),
    }
    reporter = ReportToTrial(trial, ctx.trial.report, cfg.train.epochs) if trial else None
    with runs.job_run(ctx.uri, experiment_id, ctx.run_name, tags) as tracked:
        if trial:
            trial.set_user_attr(study.ATTR_RUN_ID, tracked.info.run_id)
        final = train_and_log(cfg, ctx, ds, phases, reporter)
    _print_result(ctx.run_name, final, reporter)
    return trial_result(tracked.info.run_id, final, reporter) if trial else float(final["test_accuracy"])


def _print_result(name: str, final: Dict[str, float], reporter: Optional[ReportToTrial]) -> None:
    if reporter and reporter.pruned_at:
        print(f"[sweep] {name}: pruned after epoch {reporter.pruned_at} ({final['fit_time_s']:.1f} s fit)", flush=True)
        return
    print(
        f"[sweep] {name}: train_accuracy={final['train_accuracy']:.4f} "
        f"test_accuracy={final['test_accuracy']:.4f} ({final['fit_time_s']:.1f} s fit)",
        flush=True,
    )
