"""One cell of the study: load data, build, fit, evaluate, and track it all in one MLflow run."""

import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import keras
from omegaconf import OmegaConf

from sweep import data, model, plots, schema, store, tracking


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite; training was stopped at once."""


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


def load_data(cfg: Any) -> data.Dataset:
    """The job's data set, loaded and normalized once per process."""
    return data.load(cfg.data.name, cfg.data.path, cfg.data.limit)


def _already_finished(cfg: Any, ctx: JobContext, digest: str) -> Optional[Any]:
    if cfg.retrain:
        return None
    experiment_id = os.environ.get(store.ENV_EXPERIMENT) or store.prepare_experiment(ctx.uri, cfg.mlflow.experiment)
    return store.finished_runs(ctx.uri, experiment_id, digest).get(digest)


def fit(net: keras.Model, ds: data.Dataset, train: Any) -> Dict[str, list]:
    """Fit as the study did (validation_split), logging each epoch; stop at once if the loss diverges."""
    history = net.fit(
        ds.x_train,
        ds.y_train,
        epochs=train.epochs,
        batch_size=train.batch_size,
        validation_split=train.validation_split,
        callbacks=[tracking.EpochMetrics(), keras.callbacks.TerminateOnNaN()],
        verbose=1 if sys.stdout.isatty() else 2,
    ).history
    if not all(math.isfinite(v) for v in history["loss"]):
        raise DivergedError(
            f"the training loss became {history['loss'][-1]} in epoch {len(history['loss'])}; "
            f"training was stopped (train.learning_rate={train.learning_rate})"
        )
    return history


def evaluate(net: keras.Model, ds: data.Dataset, history: Dict[str, list], fit_time: float) -> Dict[str, float]:
    """The end-of-job metrics: loss and accuracy on the full train and test sets, fit time, best epoch."""
    train_loss, train_accuracy = net.evaluate(ds.x_train, ds.y_train, verbose=0)
    test_loss, test_accuracy = net.evaluate(ds.x_test, ds.y_test, verbose=0)
    best = max(range(len(history["val_accuracy"])), key=history["val_accuracy"].__getitem__)
    return {
        "train_loss": train_loss,
        "train_accuracy": train_accuracy,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "fit_time_s": fit_time,
        "best_epoch": best + 1,
        "best_val_accuracy": history["val_accuracy"][best],
    }


def run(cfg: Any, ctx: JobContext) -> float:
    """Train and evaluate one cell, logging everything to MLflow; return its test accuracy."""
    schema.validate(cfg)
    data.raw(cfg.data.name, cfg.data.path)  # missing or corrupt data fails before the store is touched
    digest = schema.config_hash(cfg)
    position = f"{ctx.index} of {ctx.total}" if ctx.total else f"{ctx.index}"
    done = _already_finished(cfg, ctx, digest)
    if done:
        print(
            f"[sweep] cell {position}: {ctx.run_name} skipped: FINISHED before as run {done.info.run_id} "
            "(retrain=true trains it again)",
            flush=True,
        )
        return float(done.data.metrics.get("test_accuracy", float("nan")))
    ds = load_data(cfg)  # before the run starts: bad data must leave nothing in MLflow
    print(f"[sweep] cell {position}: {ctx.run_name}", flush=True)
    tags = {store.TAG_SWEEP: ctx.sweep_id, store.TAG_CELL: ctx.run_name, store.TAG_HASH: digest}
    with tracking.job_run(ctx.uri, cfg.mlflow.experiment, ctx.run_name, tags):
        keras.backend.clear_session()
        keras.utils.set_random_seed(cfg.train.seed)
        tracking.log_params({**tracking.flatten(OmegaConf.to_container(cfg, resolve=True)), **ctx.choices})
        net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train)
        start = time.perf_counter()
        history = fit(net, ds, cfg.train)
        fit_time = time.perf_counter() - start
        final = evaluate(net, ds, history, fit_time)
        tracking.log_final(final)
        tracking.log_figures(plots.learning_curves(history, ctx.run_name))
        tracking.log_config_files(ctx.config_dir)
        tracking.log_model(net, ds.x_test[:5])
    print(
        f"[sweep] {ctx.run_name}: train_accuracy={final['train_accuracy']:.4f} "
        f"test_accuracy={final['test_accuracy']:.4f} ({fit_time:.1f} s fit)",
        flush=True,
    )
    return float(final["test_accuracy"])
