"""The contract a sweeper of ours offers sweep's multirun: what it will do, checked before anything is created.

A sweeper that decides as it goes (a search, a race) cannot be expanded into its jobs the way Hydra's basic sweeper
can, so it subclasses `PlansAhead` and says in `plan(config)` which configs to compose and check, how many jobs it
launches at most, and what every job gets in its environment. sweep.config.plan calls it through this contract, on
the class that `hydra.sweeper._target_` names. Kept free of heavy imports: the sweepers' plugin modules import it,
and Hydra imports those in every app.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class SweeperPlan:
    """What a sweeper that decides as it goes knows before it starts."""

    examples: List[List[str]]  # override lists that reach every bound of its space: each is composed and checked
    n_jobs: int  # jobs this invocation launches at most
    workers: Optional[int]  # jobs at once (None: as many as the launcher runs)
    env: Dict[str, str] = field(default_factory=dict)  # handed to every job through the environment
    first_jobs: bool = False  # the examples are the jobs it launches first (a race's round 0), more may follow


class PlansAhead(ABC):
    """A sweeper whose options and first jobs sweep checks before the parent run, the study or any job exists."""

    @staticmethod
    @abstractmethod
    def plan(config: Any) -> SweeperPlan:
        """Check the sweeper's own options in the multirun's config; raise ValueError with one line naming the key."""
