"""Hydra callback that turns a multirun into one MLflow parent run with every job as its child."""

import atexit
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, List, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sweep import plan, store


def new_sweep_id() -> str:
    """A sortable, unique sweep id: UTC time plus a random suffix."""
    return f"{datetime.utcnow():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


class SweepCallback(Callback):
    """Validate every planned job, then create the parent run before jobs fan out; end it afterwards."""

    def __init__(self) -> None:
        self.uri: Optional[str] = None
        self.parent: Optional[str] = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        cells: List[str] = []
        try:
            jobs = plan.expand(config)
            if jobs is not None:
                cells = plan.check(config, jobs)
        except ValueError as exc:  # ConfigError, DataError, override parse errors: one line, nothing tracked
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        self.uri = store.resolve_uri(Path(config.hydra.runtime.cwd))
        os.environ["MLFLOW_TRACKING_URI"] = self.uri  # workers write to the same, absolute store
        experiment_id = store.prepare_experiment(self.uri, config.mlflow.experiment)
        sweep_id = new_sweep_id()
        self.parent = store.start_parent(self.uri, experiment_id, sweep_id, cells)
        os.environ.update(
            {
                store.ENV_SWEEP_ID: sweep_id,
                store.ENV_PARENT: self.parent,
                store.ENV_EXPERIMENT: experiment_id,
                store.ENV_N_JOBS: str(len(cells) or ""),
            }
        )
        os.environ[plan.ENV_SWEPT_KEYS] = ",".join(plan.swept_keys(jobs or []))
        print(
            f"[sweep] sweep {sweep_id}: {len(cells) or '?'} jobs, parent run {self.parent}, store {self.uri}",
            flush=True,
        )
        # Hydra skips on_multirun_end when a job raised: end the parent at exit in every case.
        atexit.register(self._end)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._end()

    def _end(self) -> None:
        if self.uri and self.parent:
            status = store.end_parent(self.uri, self.parent)
            print(f"[sweep] parent run {self.parent} ended {status}", flush=True)
            self.parent = None
