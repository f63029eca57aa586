"""One cell of the study: load data, build, fit, evaluate, and track it all in one MLflow run."""

import gc
import math
import os
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import joblib
import keras
import tensorflow as tf
from omegaconf import OmegaConf

from sweep import data, dropout, loop, model, plots, resident, schema, signals, store, tracking


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


def settle_memory() -> None:
    """Before each job's model: collect the last job's garbage, then hide every survivor from the cycle collector.

    The first time these are TensorFlow, Keras, MLflow and the data: about 500k long-lived objects, which each full
    collection scanned in 0.24-0.46 s here. Later jobs add TensorFlow's traced graphs, which outlive their model
    (about 16k objects a job; a known leak, keras-team/keras#17458): unfrozen, they made the collections of
    clear_session and of joblib's worker after each job grow from 0.003 s to 0.2 s over a 16-job worker.
    """
    gc.collect()
    gc.freeze()


def _already_finished(cfg: Any, ctx: JobContext, experiment_id: str, digest: str) -> Optional[Any]:
    if cfg.retrain:
        return None
    return store.finished_runs(ctx.uri, experiment_id, digest).get(digest)


class StopOnSignal(keras.callbacks.Callback):
    """End training at the next batch once Ctrl-C or SIGTERM has arrived."""

    def on_train_batch_end(self, batch: int, logs: Optional[Dict[str, float]] = None) -> None:
        if signals.interrupted.is_set():
            self.model.stop_training = True


def fit(net: keras.Model, ds: data.Dataset, train: Any, speed: Any) -> keras.callbacks.History:
    """Fit as the study did (validation_split), logging each epoch; stop at once if the loss diverges.

    Returns Keras' History: `.history` per epoch, `.model` the model whose evaluate() the job calls (for
    speed.loop=in_graph the loop, whose test step validation traced already: no second trace, ~0.2 s a job).
    """
    callbacks = [tracking.EpochMetrics(), keras.callbacks.TerminateOnNaN(), StopOnSignal()]
    verbose = 1 if sys.stdout.isatty() else 2
    with signals.deferred():  # Ctrl-C/SIGTERM stop training at a batch boundary, then interrupt the job
        if speed.loop == "in_graph":
            fitted = loop.fit(net, ds.x_train, ds.y_train, train, speed, callbacks, verbose)
        else:  # Keras' own loop, as the notebook called it
            fitted = net.fit(
                ds.x_train,
                ds.y_train,
                epochs=train.epochs,
                batch_size=train.batch_size,
                validation_split=train.validation_split,
                validation_batch_size=speed.eval_batch_size,  # evaluation only: training batches stay 32
                callbacks=callbacks,
                verbose=verbose,
            )
    history = fitted.history
    if not all(math.isfinite(v) for v in history["loss"]):
        raise DivergedError(
            f"the training loss became {history['loss'][-1]} in epoch {len(history['loss'])}; "
            f"training was stopped (train.learning_rate={train.learning_rate})"
        )
    return fitted


def _evaluate(net: keras.Model, x: Any, y: Any, speed: Any) -> list:
    if speed.loop == "in_graph":  # the same batches, without tf.data's stalls (loop.batches) or copies (resident)
        return net.evaluate(loop.batches((resident.tensor(x), resident.tensor(y)), speed.eval_batch_size), verbose=0)
    return net.evaluate(x, y, batch_size=speed.eval_batch_size, verbose=0)


def evaluate(
    net: keras.Model, ds: data.Dataset, history: Dict[str, list], fit_time: float, speed: Any
) -> Dict[str, float]:
    """The end-of-job metrics: loss and accuracy on the full train and test sets, fit time, best epoch."""
    train_loss, train_accuracy = _evaluate(net, ds.x_train, ds.y_train, speed)
    test_loss, test_accuracy = _evaluate(net, ds.x_test, ds.y_test, speed)
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


class Phases:
    """Wall time of a job's phases, logged as time_<phase>_s metrics (the benchmark reads them back)."""

    def __init__(self) -> None:
        self.seconds: Dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            key = f"time_{name}_s"
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - start


def set_threads(speed: Any) -> int:
    """Pin TensorFlow's intra-op threads so parallel jobs share the cores instead of fighting; return the count.

    speed.threads=0 is automatic: cores / parallel jobs in a sweep, 1 for a lone job. Measured on 2 cores, a lone
    job with TensorFlow's 2 threads ran 0.29 s or 0.62 s per epoch depending on whether the scheduler put both on
    one core; with 1 thread, 0.39 s every time. null keeps TensorFlow's own threading (speed=study).
    """
    if speed.threads is None:
        return tf.config.threading.get_intra_op_parallelism_threads()
    workers = int(os.environ.get(store.ENV_WORKERS) or 1)
    wanted = speed.threads or max(1, joblib.cpu_count() // workers if workers > 1 else 1)
    if tf.config.threading.get_intra_op_parallelism_threads() != wanted:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(wanted)
            tf.config.threading.set_inter_op_parallelism_threads(min(wanted, 2))
        except RuntimeError:  # TensorFlow already started in this worker: it keeps its first setting
            pass
    return tf.config.threading.get_intra_op_parallelism_threads()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def train_and_log(cfg: Any, ctx: JobContext, ds: data.Dataset, phases: Phases) -> Dict[str, float]:
    """Inside the job's run: build, fit, evaluate and log everything; return the final metrics."""
    with phases("log_params"):
        tracking.log_params({**tracking.flatten(OmegaConf.to_container(cfg, resolve=True)), **ctx.choices})
    with phases("build"):
        keras.backend.clear_session(free_memory=False)  # settle_memory collects, then freezes what survives
        settle_memory()
        keras.utils.set_random_seed(cfg.train.seed)
        net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed)
    with phases("fit"):
        fitted = fit(net, ds, cfg.train, cfg.speed)
        history = fitted.history
    with phases("evaluate"):
        final = evaluate(fitted.model, ds, history, phases.seconds["time_fit_s"], cfg.speed)
    with phases("log_metrics"):
        tracking.log_final(final)
    with phases("log_plots"):
        tracking.log_figures(plots.learning_curves(history, ctx.run_name))
    with phases("log_config"):
        tracking.log_config_files(ctx.config_dir)
    with phases("log_model"):
        tracking.log_model(dropout.exportable(net), ds.x_test[:5])  # plain Keras layers
    tracking.log_final({**phases.seconds, "peak_rss_mb": peak_rss_mb()})
    return final


def run(cfg: Any, ctx: JobContext) -> float:
    """Train and evaluate one cell, logging everything to MLflow; return its test accuracy."""
    schema.validate(cfg)
    data.raw(cfg.data.name, cfg.data.path)  # missing or corrupt data fails before the store is touched
    digest = schema.config_hash(cfg)
    position = f"{ctx.index} of {ctx.total}" if ctx.total else f"{ctx.index}"
    experiment_id = tracking.job_experiment(ctx.uri, cfg.mlflow.experiment)
    done = _already_finished(cfg, ctx, experiment_id, digest)
    if done:
        print(
            f"[sweep] cell {position}: {ctx.run_name} skipped: FINISHED before as run {done.info.run_id} "
            "(retrain=true trains it again)",
            flush=True,
        )
        return float(done.data.metrics.get("test_accuracy", float("nan")))
    phases = Phases()
    with phases("data"):
        ds = load_data(cfg)  # loaded and normalized once per process, reused by its later jobs
    print(f"[sweep] cell {position}: {ctx.run_name}", flush=True)
    tags = {
        store.TAG_SWEEP: ctx.sweep_id,
        store.TAG_CELL: ctx.run_name,
        store.TAG_HASH: digest,
        "sweep.intra_op_threads": str(set_threads(cfg.speed)),
    }
    with tracking.job_run(ctx.uri, experiment_id, ctx.run_name, tags):
        final = train_and_log(cfg, ctx, ds, phases)
    print(
        f"[sweep] {ctx.run_name}: train_accuracy={final['train_accuracy']:.4f} "
        f"test_accuracy={final['test_accuracy']:.4f} ({final['fit_time_s']:.1f} s fit)",
        flush=True,
    )
    return float(final["test_accuracy"])
