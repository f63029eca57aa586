"""Entry point: `python -m sweep.train [-m] key=value ...` trains one cell, or with -m a tracked sweep of cells."""

import gc
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sweep import data
from sweep.config import CONF_DIR, cells, checks, overrides, schema, sweeper_overrides
from sweep.multirun.callback import fail
from sweep.process import quiet, signals
from sweep.tracking import store


def _conf_dir() -> str:
    return str(CONF_DIR)


def context(hc: HydraConfig):
    """Read everything a job needs to know from Hydra's runtime config."""
    from sweep.training.job import JobContext  # TensorFlow loads here, after every input check has passed

    multirun = hc.mode == RunMode.MULTIRUN
    swept = [k for k in os.environ.get(cells.ENV_SWEPT_KEYS, "").split(",") if k] if multirun else []
    choices = {group: str(option) for group, option in hc.runtime.choices.items() if option and "/" not in group}
    total = os.environ.get(store.ENV_N_JOBS) if multirun else "1"
    return JobContext(
        uri=store.resolve_uri(Path(hc.runtime.cwd)),
        sweep_id=os.environ.get(store.ENV_SWEEP_ID) if multirun else store.new_sweep_id(),
        choices=choices,
        swept=swept,
        config_dir=Path(hc.runtime.output_dir) / hc.output_subdir if hc.output_subdir else None,
        index=(hc.job.num + 1) if multirun else 1,
        total=int(total) if total else None,
    )


@hydra.main(version_base="1.3", config_path=_conf_dir(), config_name="config")
def main(cfg: DictConfig) -> float:
    """Train one cell and return its test accuracy (the value a Hydra sweeper would optimise)."""
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:  # a multirun's parent has checked all of this for every job already
        try:
            checks.validate(cfg)
            data.raw(cfg.data.name, cfg.data.path)
            store.check_reachable(store.resolve_uri(Path(hc.runtime.cwd)))
        except (schema.ConfigError, data.DataError, store.StoreError) as exc:
            fail(exc)
    quiet.import_tensorflow()
    from sweep.training.job import run

    return run(cfg, context(hc))  # inside a multirun, an error fails this job only


if __name__ == "__main__":
    signals.install()
    problem = overrides.check(sys.argv[1:], _conf_dir()) or sweeper_overrides.check(sys.argv[1:], _conf_dir())
    if problem:
        fail(ValueError(problem))
    try:
        main()
        # Done: the collector's passes over every object while the interpreter shuts down took 1.2-1.5 s after a
        # sweep (the parent holds MLflow, SQLAlchemy and Hydra), 0.3 s frozen. Nothing is left to collect.
        gc.freeze()
    except KeyboardInterrupt as exc:
        print(f"[sweep] interrupted ({exc or 'SIGINT'}); running runs are marked KILLED", file=sys.stderr)
        sys.exit(130)
