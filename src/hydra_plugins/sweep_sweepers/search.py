"""`hydra/sweeper=search`: model-based search (Optuna) over Hydra's override grammar, with pruning; see docs/search.md.

Kept light at import: Hydra imports every plugin module when it starts, in every command.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from sweep.config.sweeper_contract import PlansAhead, SweeperPlan


@dataclass
class SearchSweeperConf:
    _target_: str = "hydra_plugins.sweep_sweepers.search.SearchSweeper"
    sampler: str = "tpe"  # tpe | random | gp | cmaes | qmc
    sampler_options: Dict[str, Any] = field(default_factory=dict)
    seed: Optional[int] = None
    pruner: str = "none"  # none | median | asha | hyperband
    pruner_options: Dict[str, Any] = field(default_factory=dict)
    metric: Any = "val_accuracy"  # or a list: [val_accuracy, fit_time_s]
    direction: Any = None  # null: each metric's natural direction
    n_trials: int = 20  # in total, across reruns of the same search
    n_jobs: Optional[int] = None  # trials at once; null: the launcher's workers
    max_failure_rate: float = 0.0
    storage: Optional[str] = None  # null: mlruns/optuna.journal under the launch directory
    study_name: Optional[str] = None  # null: <experiment>-<hash of the space, the fixed values and the objective>
    # the space in the override grammar, key: value, plus the command line's (a dict, not null, so that
    # hydra.sweeper.params={train.learning_rate:'tag(log,interval(1e-4,1e-1))'} merges into it)
    params: Dict[str, str] = field(default_factory=dict)


ConfigStore.instance().store(group="hydra/sweeper", name="search", node=SearchSweeperConf, provider="sweep")


class SearchSweeper(Sweeper, PlansAhead):
    """Asks Optuna for trials, keeps n_jobs of them in flight through Hydra's launcher, tells it how each ended."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.config: Optional[DictConfig] = None
        self.launcher: Any = None

    @staticmethod
    def plan(config: DictConfig) -> SweeperPlan:
        """Check the search before the parent run exists (sweep.config.plan calls this); ValueError: one line."""
        from sweep.search import plan

        return plan.make(config).for_parent()

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: List[str]) -> None:
        from sweep.search import driver, plan

        assert self.config is not None
        driver.run(plan.make(self.config), self.launcher, self.config)
