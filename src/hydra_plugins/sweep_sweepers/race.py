"""`hydra/sweeper=race`: race the command line's grid over seeds, dropping the cells that are proven worse.

    python -m sweep.train -m hydra/sweeper=race 'reg=glob(*)' 'act=glob(*)' hydra.sweeper.min_seeds=2

In any other Hydra app it races over hydra.sweeper.seed_key (default seed) on the task's return value (docs/hydra.md).
See docs/race.md. Kept light: Hydra imports every plugin module at start-up, for any command.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from sweep.config.sweeper_contract import PlansAhead, SweeperPlan
from sweep.race.settings import RaceSettings


@dataclass
class RaceSweeperConf(RaceSettings):
    """hydra.sweeper.* of the race: its RaceSettings (checked by sweep.race.rules first), the swept keys, the target."""

    _target_: str = "hydra_plugins.sweep_sweepers.race.RaceSweeper"
    # more swept keys, as for the basic sweeper (a dict, not null, so that hydra.sweeper.params.KEY=... merges in)
    params: Dict[str, str] = field(default_factory=dict)
    swept_keys: List[str] = field(default_factory=lambda: ["train.seed"])  # what the race sweeps itself (sweep.train)


ConfigStore.instance().store(group="hydra/sweeper", name="race", node=RaceSweeperConf, provider="sweep")


class RaceSweeper(Sweeper, PlansAhead):
    """Runs round after round of jobs through the configured launcher; the race's rules decide each next round."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings  # the same values as config.hydra.sweeper, which sweep() reads
        self.config: Optional[DictConfig] = None
        self.hydra_context: Optional[HydraContext] = None
        self.launcher = None

    @staticmethod
    def plan(config: DictConfig) -> SweeperPlan:
        """Round 0's jobs, for sweep's multirun callback to check before it creates the parent run."""
        from sweep.race import plan as race_plan

        first = race_plan.round_zero(config)
        return SweeperPlan(first, len(first), None, first_jobs=True)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: List[str]) -> Any:
        from sweep.config import app_kind as kind

        if not kind.is_sweep_train(self.config):
            from sweep.apps import race

            return race.run(self.config, self.hydra_context.config_loader, self.launcher)
        from sweep.race import sweep as race_sweep

        return race_sweep.run(self.config, self.hydra_context.config_loader, self.launcher)
