"""Hydra callback that turns a multirun into one MLflow parent run with every job as its child."""

import atexit
import os
import sys
from pathlib import Path
from typing import Any, List, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, read_write

from sweep.config import cells, plan, schema
from sweep.multirun import parent, warmup
from sweep.process import signals
from sweep.tracking import liveness, store


def fail(exc: Exception) -> None:
    """Print one line for a bad input and exit 2 before anything is tracked."""
    warmup.stop()
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)


def export(config: DictConfig, swept: list, planned: list, sweep_id: str, parent_id: str, experiment_id: str) -> None:
    """Hand the jobs the sweep's context: through the environment, and through every job's `hydra.job.env_set`.

    Workers spawned after this inherit the environment; Hydra sets env_set around each job in whichever process runs
    it, which reaches the workers sweep.warmup started earlier.
    """
    parallel = workers(config)
    env = {
        store.ENV_SWEEP_ID: sweep_id,
        store.ENV_PARENT: parent_id,
        store.ENV_EXPERIMENT: experiment_id,
        store.ENV_N_JOBS: str(len(planned) or ""),
        store.ENV_WORKERS: str(max(1, min(parallel, len(planned) or parallel))),
        cells.ENV_SWEPT_KEYS: ",".join(swept),
    }
    # The store's URI stays out of the job configs (they are logged, and a URI may hold credentials): a worker
    # inherits a user's MLFLOW_TRACKING_URI, and otherwise resolves the same SQLite file from the same directory.
    os.environ.update(env, MLFLOW_TRACKING_URI=store.resolve_uri(Path(config.hydra.runtime.cwd)))
    with read_write(config.hydra.overrides):  # each job's config is composed from these plus its own overrides
        config.hydra.overrides.hydra.extend(warmup.env_overrides(env))


def workers(config: DictConfig) -> int:
    """The launcher's parallel jobs (joblib's -1: one per core)."""
    n = int(config.hydra.launcher.get("n_jobs") or 1)
    return schema.default_workers() if n < 0 else n


class SweepCallback(Callback):
    """Check every planned job, then create the parent run before jobs fan out; end it truthfully."""

    def __init__(self) -> None:
        self.uri: Optional[str] = None
        self.parent: Optional[str] = None
        self.skipped: List[str] = []
        self.expected = 0

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        signals.install()
        try:
            jobs = plan.expand(config)
            planned = plan.check(config, jobs) if jobs is not None else []
            self.uri = store.resolve_uri(Path(config.hydra.runtime.cwd))
            experiment_id = store.prepare_experiment(self.uri, config.mlflow.experiment)
        except (ValueError, store.StoreError) as exc:  # bad config, data or store: one line, nothing tracked
            fail(exc)
        # Config, data and store are fine: workers start loading while this process and Hydra finish preparing.
        # (Not before the store's probe, whose fail-fast MLflow settings a worker spawned then would keep.)
        if planned:
            warmup.start(config, len(planned), planned[0]["data"])
        try:
            self._prepare(config, jobs, planned, experiment_id)
        except BaseException:
            warmup.stop()  # nothing without a warm-up; with one, the exit would wait for it
            raise

    def _prepare(self, config: DictConfig, jobs: Any, planned: list, experiment_id: str) -> None:
        for name in liveness.reap(self.uri, experiment_id):
            print(f"[sweep] marked KILLED: {name} (left RUNNING by a process that died)", flush=True)
        done = store.finished_runs(self.uri, experiment_id)
        self.skipped = [c["run"] for c in planned if c["config_hash"] in done and not c["retrain"]]
        self.expected = len(planned) - len(self.skipped)  # jobs that must finish for the sweep to be FINISHED
        sweep_id, swept = store.new_sweep_id(), plan.swept(config, jobs)
        factors = cells.factors(swept)
        design = {"swept": swept, "factors": factors, "baseline": cells.baseline(config, factors)}
        self.parent = parent.start(self.uri, experiment_id, sweep_id, planned, design)
        export(config, swept, planned, sweep_id, self.parent, experiment_id)
        print(
            f"[sweep] sweep {sweep_id}: {len(planned) or '?'} jobs, {len(self.skipped)} already finished "
            f"(skipped), parent run {self.parent}, store {self.uri}",
            flush=True,
        )
        # Hydra skips on_multirun_end when a job raised: end the parent at exit in every case.
        atexit.register(self._end)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._end()

    def _end(self) -> None:
        if not (self.uri and self.parent):
            return
        status = parent.end(self.uri, self.parent, signals.interrupted.is_set(), self.expected)
        for line in parent.summary(self.uri, self.parent, self.skipped):
            print(f"[sweep] {line}", flush=True)
        print(f"[sweep] parent run {self.parent} ended {status}", flush=True)
        self.parent = None
