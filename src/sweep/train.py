"""Entry point: `python -m sweep.train [-m] key=value ...` trains one cell, or with -m a tracked sweep of cells."""

import gc
import os
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sweep.config import CONF_DIR, builders, cells, checks, hydra_settings, limits, overrides
from sweep.launch.preflight import fail, fatal
from sweep.models import check as model_check
from sweep.process import console, errors, quiet, signals, timeline
from sweep.tracking import retries, store


def _conf_dir() -> str:
    return str(CONF_DIR)


def context(hc: HydraConfig):
    """Read everything a job needs to know from Hydra's runtime config."""
    from sweep.tracking.study import TrialLink
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
        in_sweep=multirun,
        trial=TrialLink.from_env() if multirun else None,  # a job of hydra/sweeper=search
    )


def _alone(cfg: DictConfig, hc: HydraConfig) -> float:
    """A job outside a multirun: check what the multirun's parent would have checked, then train it."""
    with fatal():  # config, data, then the store (checked before it is created): one line and exit 2, nothing made
        checks.validate(cfg)
        limits.read_data(cfg)
        model_check.builders_of(filter(None, [builders.spec(cfg)]), [])  # a user's builder, built once
        store.prepare_experiment(store.resolve_uri(Path(hc.runtime.cwd)), cfg.mlflow.experiment)
    quiet.import_tensorflow()
    from sweep.training.job import run

    return run(cfg, context(hc))


def _in_sweep(cfg: DictConfig, hc: HydraConfig) -> float:
    """A multirun's job (its parent has checked every job): an error fails this job only."""
    if not os.environ.get(store.ENV_PARENT):  # the sweep's setup never ran: a run here would be an orphan
        raise errors.SetupExit(errors.NO_PARENT)  # the launcher stops the sweep, not one job; told once, below
    # Under the launching process's live display, a job in another process writes to its folder, not the terminal
    with console.quiet_job(Path(hc.runtime.output_dir) / "console.log"):
        timeline.mark("job: starting")
        quiet.import_tensorflow()
        from sweep.training.job import run

        try:
            return run(cfg, context(hc))
        except Exception as exc:
            raise errors.JobFailed.of(exc) from exc


@hydra.main(version_base="1.3", config_path=_conf_dir(), config_name="config")
def main(cfg: DictConfig) -> Any:
    """Train one cell and return its test accuracy; a trial of hydra/sweeper=search returns its metrics instead."""
    hc = HydraConfig.get()
    return _in_sweep(cfg, hc) if hc.mode == RunMode.MULTIRUN else _alone(cfg, hc)


if __name__ == "__main__":
    timeline.mark("imported: sweep.train's modules")
    retries.apply_defaults()  # before any request: jobs and workers inherit the same retry budget
    signals.install()
    problem = overrides.check(sys.argv[1:], _conf_dir()) or hydra_settings.check(sys.argv[1:], _conf_dir())
    if problem:
        fail(ValueError(problem))
    timeline.mark("pre-checked: the command line's keys (Hydra composes next)")
    try:
        main()
        # Done: the collector's passes over every object while the interpreter shuts down took 1.2-1.5 s after a
        # sweep (the parent holds MLflow, SQLAlchemy and Hydra), 0.3 s frozen. Nothing is left to collect.
        gc.freeze()
    except errors.SetupExit as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        print(f"[sweep] interrupted ({exc or 'SIGINT'}); running runs are marked KILLED", file=sys.stderr)
        sys.exit(130)
