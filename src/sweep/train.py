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
from sweep.config import checks, overrides, plan, schema, sweeper_overrides
from sweep.multirun.callback import fail
from sweep.process import quiet, signals
from sweep.tracking import store


def _conf_dir() -> str:
    return str(Path(__file__).resolve().parents[2] / "conf")  # the repository's conf/ (an editable install)


def context(hc: HydraConfig):
    """Read everything a job needs to know from Hydra's runtime config."""
    from sweep.training.job import JobContext  # TensorFlow loads here, after every input check has passed

    multirun = hc.mode == RunMode.MULTIRUN
    swept = os.environ.get(plan.ENV_SWEPT_KEYS, "").split(",") if multirun else []
    choices = {"reg": hc.runtime.choices["reg"], "act": hc.runtime.choices["act"]}
    total = os.environ.get(store.ENV_N_JOBS) if multirun else "1"
    return JobContext(
        uri=store.resolve_uri(Path(hc.runtime.cwd)),
        run_name=plan.cell_name(choices, list(hc.overrides.task), swept),
        sweep_id=os.environ.get(store.ENV_SWEEP_ID) if multirun else store.new_sweep_id(),
        choices=choices,
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
