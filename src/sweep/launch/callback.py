"""Hydra callback that turns a multirun into one MLflow parent run with every job as its child."""

import atexit
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, read_write

from sweep.config import cells, plan, schema
from sweep.launch import cluster, display, outcome, parent, preflight, warmup
from sweep.process import console, signals, timeline
from sweep.tracking import liveness, retries, secrets, store


def export(config: DictConfig, planned: plan.Planned, ids: Dict[str, str], live: str) -> None:
    """Hand the jobs the sweep's context: through the environment, and through every job's `hydra.job.env_set`.

    `ids`: the sweep, parent run and experiment ids; `live`: console.ENV_LIVE. Workers spawned after this inherit the
    environment; Hydra sets env_set around each job in whichever process runs it (the warm workers started earlier).
    """
    parallel = planned.workers or workers(config)
    env = {
        store.ENV_SWEEP_ID: ids["sweep"],
        store.ENV_PARENT: ids["parent"],
        store.ENV_EXPERIMENT: ids["experiment"],
        store.ENV_N_JOBS: str(planned.n_jobs or ""),
        store.ENV_WORKERS: str(max(1, min(parallel, planned.n_jobs or parallel))),
        cells.ENV_SWEPT_KEYS: ",".join(planned.swept),
        console.ENV_LIVE: live,
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
        self.earlier: List[Any] = []  # the FINISHED runs of the cells this sweep skips
        self.planned = self.expected = 0
        self.more = False  # the sweeper plans more jobs as it goes (a race)
        self.display: Optional[display.Display] = None

    def __getstate__(self) -> dict:
        # The joblib launcher pickles the callbacks along with every job: the display stays in this process
        return {**self.__dict__, "display": None}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        signals.install()
        timeline.mark("composed: Hydra's primary config, the multirun callback starts")
        # Any failure from here to the parent run is fatal: Hydra would only warn and launch orphan jobs.
        with preflight.fatal(warmup.stop, self._abandon):
            # every job of a grid (a search's bounds) checked; once the first passed, workers load TensorFlow and the
            # data while this process checks the rest and prepares store and parent (a bad input stops them: undo)
            planned = preflight.planned(config, warmup.ahead(config))
            os.environ.update(planned.env)
            timeline.mark("planned: every job checked")
            self.uri = store.resolve_uri(Path(config.hydra.runtime.cwd))
            cluster.check(config, self.uri)  # a running Ray cluster: reachable, sweep on every node, stores in reach
            experiment_id = store.prepare_experiment(self.uri, config.mlflow.experiment)  # checked, then created
            timeline.mark("store ready: checked, created or migrated, the experiment")
            try:
                self._prepare(config, planned, experiment_id)
            except BaseException:
                warmup.stop()  # nothing without a warm-up; with one, the exit would wait for it
                raise

    def _abandon(self) -> None:
        """Delete a parent run whose setup failed after it was created: no half-made sweep stays in the store."""
        run_id, self.parent = self.parent, None
        self._stop_display()
        if run_id:
            parent.abandon(self.uri, run_id)

    def _prepare(self, config: DictConfig, sweep: plan.Planned, experiment_id: str) -> None:
        for name in liveness.reap(self.uri, experiment_id):
            print(f"[sweep] marked KILLED: {name} (left RUNNING by a process that died)", flush=True)
        planned, swept, self.more = sweep.cells, sweep.swept, sweep.more
        done = store.finished_runs(self.uri, experiment_id) if planned else {}
        self.earlier = [done[c["config_hash"]] for c in planned if c["config_hash"] in done and not c["retrain"]]
        self.planned, self.expected = len(planned), len(planned) - len(self.earlier)  # jobs that must finish
        sweep_id = store.new_sweep_id()
        factors = cells.factors(swept)
        design = {"swept": swept, "factors": factors, "baseline": cells.baseline(config, factors)}
        self.parent = parent.start(self.uri, experiment_id, sweep_id, planned, design)
        if display.wanted():  # stdout is a terminal: one live display here, the jobs stay quiet
            self.display = display.Display(self.uri, self.parent, self.expected if planned and not sweep.more else None)
        ids = {"sweep": sweep_id, "parent": self.parent, "experiment": experiment_id}
        export(config, sweep, ids, console.owner() if self.display else "")
        n = f"{len(planned)} jobs" if planned else f"up to {sweep.n_jobs or '?'} jobs"
        n = f"up to {n} first" if sweep.more and planned else n  # a race's round 0 at most: twins skip some of it
        print(f"[sweep] sweep {sweep_id}: {n}, parent run {self.parent}, store {secrets.display_uri(self.uri)}")
        if self.earlier:
            print(
                f"[sweep] {len(self.earlier)} of {len(planned)} cells already finished: skipped "
                f"(retrain=true trains them again; their names: {outcome.SUMMARY} of the parent run)"
            )
        sys.stdout.flush()
        # Hydra skips on_multirun_end when a job raised: end the parent at exit in every case.
        atexit.register(self._end)
        if self.display:
            self.display.start()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._end()

    def _end(self) -> None:
        run_id, self.parent = self.parent, None
        try:
            self._finish(run_id)
        except Exception as exc:  # noqa: BLE001 - at exit: say what happened in one line, not a traceback
            down = retries.unreachable(exc)
            why = retries.outage(self.uri, "it") if down else secrets.redact(str(exc))[:300]
            print(f"[sweep] parent run {run_id} could not be ended: {why}", flush=True)
        finally:
            self._stop_display()

    def _finish(self, run_id: Optional[str]) -> None:
        ending = bool(self.uri and run_id and parent.is_running(self.uri, run_id))
        interrupted = signals.interrupted.is_set()
        jobs = parent.close(self.uri, run_id, interrupted) if ending else []  # before the display's last look
        self._stop_display()
        if not ending:
            return
        if self.more:  # what a race reused beyond round 0 counts as skipped, and for best_cell (its winner's)
            self.earlier, self.planned = outcome.reused(self.uri, run_id, jobs)
            self.expected = self.planned - len(self.earlier)
        lines = outcome.record(self.uri, run_id, jobs, self.earlier, self.planned, race=self.more)
        status = parent.end(self.uri, run_id, jobs, interrupted, self.expected)
        for line in [*lines, f"parent run {run_id} ended {status}"]:
            print(f"[sweep] {line}", flush=True)

    def _stop_display(self) -> None:
        if self.display:
            self.display.stop()
            self.display = None
