"""Start the joblib launcher's workers while the parent still prepares the sweep, so they begin with TensorFlow loaded.

A worker needs ~6 s to import TensorFlow and MLflow and to load the data; the parent needs as long to prepare (check
every job, migrate the store, create the parent run, and Hydra's own check of every job). Hydra's launcher spawns its
workers only afterwards. Here the same joblib pool starts first, each worker running `warm` once: joblib reuses a
pool whose arguments are the same, so Hydra's launcher then hands its jobs to these warm workers.
Jobs of warm workers get the sweep's context from their config (`hydra.job.env_set`, see sweep.callbacks.export),
since those workers were spawned before the context existed.
"""

import os
import threading
from typing import Callable, Optional

from omegaconf import DictConfig, OmegaConf

from sweep.config.overrides import env_overrides  # noqa: F401  (the callback hands jobs the context with it)
from sweep.process import timeline

JOBLIB_LAUNCHER = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
FUSED_LAUNCHER = "hydra_plugins.sweep_launchers.fused_launcher.FusedLauncher"  # joblib's, with one key of its own

_started = threading.Event()  # this process started a warm pool
_stopped = threading.Event()  # the sweep is not going ahead: no pool may start


def warm(name: str, path: Optional[str], limit: Optional[int], env: Optional[dict] = None) -> None:
    """In a worker: import TensorFlow, Keras and MLflow, and load the data, as the first job would.

    `env`: MLflow's retry settings as the launching process had them before its store probe, which lowers them for
    a few seconds (tracking.retries.fail_fast) while these workers may be spawning; a worker keeps these for good.
    Never raises: a failed task would make joblib kill the whole pool, Hydra's queued jobs included. A job that meets
    the same problem reports it itself.
    """
    for key, value in (env or {}).items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    try:
        from sweep import data
        from sweep.process import quiet

        timeline.mark("worker: warming")
        quiet.import_tensorflow()
        timeline.mark("worker: TensorFlow imported")
        from sweep.training import job  # noqa: F401  (MLflow, Keras, the training loop)

        timeline.mark("worker: MLflow, Keras and the loop imported")
        data.load(name, path, limit)  # the job's threads are pinned later: no TensorFlow op runs here
        timeline.mark("worker: data loaded")
    except Exception:
        pass


def joblib_args(config: DictConfig) -> Optional[dict]:
    """The arguments Hydra's joblib launcher will give joblib.Parallel, or None for any other launcher."""
    launcher = config.hydra.launcher
    if launcher.get("_target_") not in (JOBLIB_LAUNCHER, FUSED_LAUNCHER):
        return None
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg

    args = {k: v for k, v in OmegaConf.to_container(launcher, resolve=True).items() if k not in ("_target_", "fuse")}
    args["backend"] = "loky"  # as the launcher does
    process_joblib_cfg(args)
    return args


def start(config: DictConfig, n_jobs: int, data: dict) -> bool:
    """Start every worker of Hydra's joblib pool in the background, each warming once on `data` (a job's data keys).

    Only when the sweep has a job for every worker: joblib starts all of them, and jobs would otherwise go to cold
    workers while warm ones sit idle.
    """
    args = joblib_args(config)
    workers = args.get("n_jobs") if args else None
    if not isinstance(workers, int) or workers < 2 or n_jobs < workers:  # 1: joblib runs the jobs in this process
        return False
    from joblib import Parallel, delayed

    from sweep.tracking import retries

    env = {key: os.environ.get(key) for key in (retries.RETRIES, retries.TIMEOUT)}  # before the store's probe
    tasks = [delayed(warm)(data["name"], data["path"], data["limit"], env) for _ in range(workers)]

    def run() -> None:
        if _stopped.is_set():
            return
        try:
            Parallel(**args)(tasks)
        except Exception:  # the pool was stopped (the sweep is not going ahead)
            pass

    _started.set()
    threading.Thread(target=run, name="sweep-warmup", daemon=True).start()
    return True


def ahead(config: DictConfig) -> Callable[[int, dict, dict], None]:
    """What the plan calls once the first job passed: the sweeper's context into the environment, then the pool."""

    def go(n_jobs: int, env: dict, data: dict) -> None:
        timeline.mark("first job checked: the warm-up starts")
        os.environ.update(env)  # before any worker starts: every worker inherits the sweeper's context
        start(config, n_jobs, data)

    return go


def stop() -> None:
    """Kill the warming workers at once (the sweep is not going ahead); without this, exit waits for them."""
    _stopped.set()
    if not _started.is_set():
        return
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(reuse=True).shutdown(wait=False, kill_workers=True)
    _started.clear()
