"""One cell of the study: load data, build, fit, evaluate, and track it all in one MLflow run."""

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import keras
from omegaconf import OmegaConf

from sweep import data, model, plots, schema, store, tracking


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


def config_hash(cfg: Any) -> str:
    """A short hash of everything that changes what a job computes (not where it is tracked)."""
    values = OmegaConf.to_container(cfg, resolve=True)
    values.pop("mlflow", None)
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def load_data(cfg: Any) -> data.Dataset:
    """The job's data set, loaded and normalized once per process."""
    return data.load(cfg.data.name, cfg.data.path, cfg.data.limit)


def run(cfg: Any, ctx: JobContext) -> float:
    """Train and evaluate one cell, logging everything to MLflow; return its test accuracy."""
    schema.validate(cfg)
    ds = load_data(cfg)  # before the run starts: bad data must leave nothing in MLflow
    position = f"{ctx.index} of {ctx.total}" if ctx.total else f"{ctx.index}"
    print(f"[sweep] cell {position}: {ctx.run_name}", flush=True)
    tags = {store.TAG_SWEEP: ctx.sweep_id, store.TAG_CELL: ctx.run_name, "config_hash": config_hash(cfg)}
    with tracking.job_run(ctx.uri, cfg.mlflow.experiment, ctx.run_name, tags):
        keras.backend.clear_session()
        keras.utils.set_random_seed(cfg.train.seed)
        params = tracking.flatten(OmegaConf.to_container(cfg, resolve=True))
        tracking.log_params({**params, **ctx.choices})
        net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train)
        start = time.perf_counter()
        history = net.fit(
            ds.x_train,
            ds.y_train,
            epochs=cfg.train.epochs,
            batch_size=cfg.train.batch_size,
            validation_split=cfg.train.validation_split,
            callbacks=[tracking.EpochMetrics()],
            verbose=1 if sys.stdout.isatty() else 2,
        )
        fit_time = time.perf_counter() - start
        train_loss, train_acc = net.evaluate(ds.x_train, ds.y_train, verbose=0)
        test_loss, test_acc = net.evaluate(ds.x_test, ds.y_test, verbose=0)
        tracking.log_final(
            {
                "train_loss": train_loss,
                "train_accuracy": train_acc,
                "test_loss": test_loss,
                "test_accuracy": test_acc,
                "fit_time_s": fit_time,
            }
        )
        tracking.log_figures(plots.learning_curves(history.history, ctx.run_name))
        tracking.log_config_files(ctx.config_dir)
        tracking.log_model(net, ds.x_test[:5])
    print(
        f"[sweep] {ctx.run_name}: train_accuracy={train_acc:.4f} test_accuracy={test_acc:.4f} ({fit_time:.1f} s fit)",
        flush=True,
    )
    return float(test_acc)
