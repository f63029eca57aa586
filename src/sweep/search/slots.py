"""How many trials a search keeps in flight: the launcher's parallel jobs, or hydra.sweeper.n_jobs."""

from typing import Optional, Tuple

from omegaconf import DictConfig, OmegaConf

from sweep.config import schema

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
FUSED = "hydra_plugins.sweep_launchers.fused_launcher.FusedLauncher"  # joblib's (hydra/launcher=parallel)
RAY = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
BASIC = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def launcher_workers(config: DictConfig) -> Tuple[int, bool]:
    """How many jobs the launcher runs at once, and whether it runs them inside this process."""
    launcher = config.hydra.launcher
    target = launcher.get("_target_")
    if target in (JOBLIB, FUSED):
        n = int(launcher.get("n_jobs") or 1)
        n = schema.default_workers() if n < 0 else n
        return n, n == 1  # joblib runs a single worker's jobs in this process
    if target == RAY:
        cpus = OmegaConf.select(launcher, "ray.init.num_cpus", default=None)
        return int(cpus) if cpus else schema.default_workers(), False
    return (1, True) if target == BASIC else (schema.default_workers(), False)


def count(config: DictConfig, n_jobs: Optional[int], app: bool) -> Tuple[int, int]:
    """(trials in flight, the launcher's workers); ValueError for n_jobs > 1 on an in-process launcher (sweep.train)."""
    workers, in_process = launcher_workers(config)
    if in_process and app:  # as Hydra's Optuna sweeper does: its batch of n_jobs runs one job after another
        return 1, workers
    if in_process and (n_jobs or 1) > 1:
        raise ValueError(
            f"hydra.sweeper.n_jobs: this launcher runs one job at a time inside this process, so 1 is allowed, "
            f"got {n_jobs} (hydra/launcher=joblib runs several)"
        )
    return (1 if in_process else n_jobs or workers), workers
