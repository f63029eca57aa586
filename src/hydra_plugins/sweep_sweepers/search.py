"""`hydra/sweeper=search`: model-based search (Optuna) over Hydra's override grammar, with pruning.

In sweep.train (docs/search.md) and in any Hydra app (docs/hydra.md: it takes the options of Hydra's Optuna sweeper).

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
    _recursive_: bool = False  # a sampler given as {_target_: ...} is built (and checked) by the search, not by Hydra
    # tpe | random | gp | cmaes | qmc, or as Hydra's Optuna sweeper: {_target_: optuna.samplers.TPESampler, seed: 1}
    sampler: Any = "tpe"
    sampler_options: Dict[str, Any] = field(default_factory=dict)
    seed: Optional[int] = None
    pruner: str = "none"  # none | median | asha | hyperband
    pruner_options: Dict[str, Any] = field(default_factory=dict)
    # sweep.train: null is val_accuracy, or a list: [val_accuracy, fit_time_s]. Any app: null, the task returns the
    # number(s); a key (or keys) of the mapping it returns
    metric: Any = None
    direction: Any = None  # null: each metric's natural direction (any app: minimize, as Hydra's Optuna sweeper)
    n_trials: int = 20  # in total, across reruns of the same search
    n_jobs: Optional[int] = None  # trials at once; null: the launcher's workers
    max_failure_rate: float = 0.0
    storage: Optional[str] = None  # null: mlruns/optuna.journal under the launch directory
    study_name: Optional[str] = None  # null: <experiment>-<hash of the space, the fixed values and the objective>
    # the space in the override grammar, key: value, plus the command line's (a dict, not null, so that
    # hydra.sweeper.params={train.learning_rate:'tag(log,interval(1e-4,1e-1))'} merges into it)
    params: Dict[str, str] = field(default_factory=dict)
    custom_search_space: Optional[str] = None  # any app: a function (config, trial) that draws more keys


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
        from sweep.config import app_kind as kind

        assert self.config is not None
        if not kind.is_sweep_train(self.config):
            from sweep.apps import search

            return search.run(self.config, self.launcher)
        from sweep.search import driver, plan

        driver.run(plan.make(self.config), self.launcher, self.config)
