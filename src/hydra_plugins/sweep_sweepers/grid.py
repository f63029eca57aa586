"""`hydra/sweeper=grid` (sweep's default): Hydra's basic sweeper, the product of the swept keys, composing faster.

Hydra's basic sweeper composes every job of a batch before launching it, to fail early on one that cannot be
composed (`Sweeper.validate_batch_is_legal`): ~0.1 s a job, half a minute for a 320-job grid before the first job
starts. This one composes them as sweep.config.compose_jobs does (Hydra's full composition once per set of group
choices; every job's config equal to Hydra's own; a job sweep's own plan composed in this process already is not
composed again), and is otherwise Hydra's basic sweeper: the same jobs in the same
order, the same options (`max_batch_size`, `params`). `hydra/sweeper=basic` is still there, unchanged.
"""

from dataclasses import dataclass
from typing import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore


@dataclass
class GridSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.sweep_sweepers.grid.GridSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="grid", node=GridSweeperConf, provider="sweep")


class GridSweeper(BasicSweeper):
    """Hydra's basic sweeper; the batch it checks before launching is composed once per set of group choices."""

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        from sweep.config import compose_jobs

        loader = self.hydra_context.config_loader
        compose = compose_jobs.composer(loader, self.config)
        for overrides in batch:
            if not compose_jobs.known(loader, self.config, list(overrides)):  # sweep's plan composed it: legal
                compose(list(overrides))
