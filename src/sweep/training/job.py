"""One cell of the study: load data, build, fit, evaluate, and track it all in one MLflow run."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import keras
from omegaconf import OmegaConf

from sweep import data
from sweep.config import cells, checks
from sweep.tracking import models, runs, store
from sweep.training import curves, export, model
from sweep.training.evaluate import evaluate
from sweep.training.fit import fit
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

    def names(self, cfg: Any) -> "tuple[str, str]":
        """The job's cell name and run name."""
        cell = cells.name(cells.values(cfg, self.choices, self.swept))
        return cell, cells.run_name(cell, cfg, self.swept)


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


def train_and_log(cfg: Any, ctx: JobContext, ds: data.Dataset, phases: Phases) -> Dict[str, float]:
    """Inside the job's run: build, fit, evaluate and log everything; return the final metrics."""
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
        fitted = fit(net, ds, cfg.train, cfg.speed)
        history = fitted.history
    with phases("evaluate"):
        final = evaluate(fitted.model, ds, history, phases.seconds["time_fit_s"], cfg.speed)
    with phases("log_metrics"):
        runs.log_final(final)
    with phases("log_plots"):
        runs.log_figures(curves.learning_curves(history, ctx.names(cfg)[1]))
    with phases("log_config"):
        runs.log_config_files(ctx.config_dir)
    with phases("log_model"):
        models.log_model(export.serving_model(net, shape.image), stored.x_test[:5])  # takes raw images
    runs.log_final({**phases.seconds, "peak_rss_mb": peak_rss_mb()})
    return final


def run(cfg: Any, ctx: JobContext) -> float:
    """Train and evaluate one cell, logging everything to MLflow; return its test accuracy."""
    checks.validate(cfg)
    data.raw(cfg.data.name, cfg.data.path)  # missing or corrupt data fails before the store is touched
    digest = cells.config_hash(cfg)
    cell, run_name = ctx.names(cfg)
    position = f"{ctx.index} of {ctx.total}" if ctx.total else f"{ctx.index}"
    experiment_id = runs.job_experiment(ctx.uri, cfg.mlflow.experiment)
    done = _already_finished(cfg, ctx, experiment_id, digest)
    if done:
        print(
            f"[sweep] cell {position}: {run_name} skipped: FINISHED before as run {done.info.run_id} "
            "(retrain=true trains it again)",
            flush=True,
        )
        return float(done.data.metrics.get("test_accuracy", float("nan")))
    phases = Phases()
    with phases("data"):
        ds = load_data(cfg)  # loaded and normalized once per process, reused by its later jobs
    print(f"[sweep] cell {position}: {run_name}", flush=True)
    tags = {
        store.TAG_SWEEP: ctx.sweep_id,
        store.TAG_CELL: cell,
        store.TAG_CELL_HASH: cells.cell_hash(cfg),
        store.TAG_HASH: digest,
        "sweep.intra_op_threads": str(set_threads(cfg.speed)),
    }
    with runs.job_run(ctx.uri, experiment_id, run_name, tags):
        final = train_and_log(cfg, ctx, ds, phases)
    print(
        f"[sweep] {run_name}: train_accuracy={final['train_accuracy']:.4f} "
        f"test_accuracy={final['test_accuracy']:.4f} ({final['fit_time_s']:.1f} s fit)",
        flush=True,
    )
    return float(final["test_accuracy"])
