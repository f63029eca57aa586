"""What a job does to its process: pin TensorFlow's threads, settle memory between jobs, time phases, peak RSS."""

import gc
import os
import resource
import sys
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator

import joblib
import tensorflow as tf

from sweep.tracking import store


def settle_memory() -> None:
    """Before each job's model: collect the last job's garbage, then hide every survivor from the cycle collector.

    The first time these are TensorFlow, Keras, MLflow and the data: about 500k long-lived objects, which each full
    collection scanned in 0.24-0.46 s here. Later jobs add TensorFlow's traced graphs, which outlive their model
    (about 16k objects a job; a known leak, keras-team/keras#17458): unfrozen, they made the collections of
    clear_session and of joblib's worker after each job grow from 0.003 s to 0.2 s over a 16-job worker.
    """
    gc.collect()
    gc.freeze()


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
