"""Hydra's joblib launcher, handing its workers groups of jobs: cells fused, the costliest first (`fuse: N`).

`hydra/launcher=parallel` (sweep's default) uses it. Each job stays a Hydra job with its own folder, config and
JobReturn, in the order the sweeper gave them; only how they are dealt to the workers changes (sweep.launch.groups
decides, sweep.launch.fused_jobs runs a group). `hydra.launcher.fuse=1` trains every cell alone.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher

log = logging.getLogger(__name__)


@dataclass
class FusedLauncherConf(JobLibLauncherConf):
    _target_: str = "hydra_plugins.sweep_launchers.fused_launcher.FusedLauncher"
    fuse: int = 4  # cells a task at most, trained together where they can be; 1: each cell alone


ConfigStore.instance().store(group="hydra/launcher", name="joblib_fused", node=FusedLauncherConf, provider="sweep")


class FusedLauncher(JoblibLauncher):
    """Launches parallel jobs with joblib.Parallel, several cells a task where they can train together."""

    def __init__(self, fuse: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fuse = int(fuse)

    def _compose(self, overrides: Sequence[str]) -> Optional[Any]:
        try:
            return self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        except Exception:  # the job itself will fail with Hydra's own message; here it just is not fused
            return None

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        # Imported here, not with the module: Hydra's plugin scan imports this module in every Hydra app
        from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
        from joblib import Parallel, delayed, effective_n_jobs

        from sweep.launch import fused_jobs, groups

        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        joblib_cfg = dict(self.joblib, backend="loky")  # as Hydra's joblib launcher: loky, the only safe backend
        process_joblib_cfg(joblib_cfg)
        workers = effective_n_jobs(joblib_cfg.get("n_jobs") or 1)  # joblib's own reading of n_jobs=-1 and the like
        planned = groups.plan(job_overrides, self.fuse, workers, self._compose)
        log.info(f"Joblib.Parallel({joblib_cfg}) is launching {len(job_overrides)} jobs in {len(planned)} tasks")
        for idx, overrides in enumerate(job_overrides):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
        state = Singleton.get_state()
        tasks = [[(initial_job_idx + i, job_overrides[i]) for i in group] for group in planned]
        done = Parallel(**joblib_cfg)(
            delayed(fused_jobs.execute_group)(task, self.hydra_context, self.config, self.task_function, state)
            for task in tasks
        )
        returns: list = [None] * len(job_overrides)
        for group, rets in zip(planned, done, strict=True):
            for i, ret in zip(group, rets, strict=True):
                returns[i] = ret
        return returns
