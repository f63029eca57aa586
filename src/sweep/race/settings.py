"""The race's settings and their defaults, written once: hydra.sweeper.* of hydra/sweeper=race, and its Rules.

Plain values and nothing imported: the race sweeper's plugin module builds its config node from this class, and
Hydra imports that module in every app.
"""

from dataclasses import dataclass
from typing import Optional


@dataclass
class RaceSettings:
    """What a race is asked to do (docs/race.md has each setting's meaning and range)."""

    min_seeds: int = 3  # round 0: every cell at seeds 0..min_seeds-1
    max_seeds: int = 10  # no cell gets more seeds
    step: int = 1  # seeds added to each survivor per round
    alpha: float = 0.05  # the race's level, split over its possible rounds
    epsilon: float = 0.002  # stop when every survivor is within this of the best (TOST); 0: never
    metric: str = "val_accuracy"  # the last epoch's; test_accuracy uses the test set for selection (any app: its key)
    direction: str = "maximize"  # any app may race a loss: minimize (sweep.train's metrics are accuracies)
    seed_key: Optional[str] = None  # the key the race sets to 0, 1, 2, ...; null: train.seed (sweep.train), else seed
    max_jobs: Optional[int] = None  # stop before a round that would pass this many jobs
    merge_twins: bool = True  # cells whose runs end with bit-identical weights at every seed so far race as one
    twin_seeds: int = 1  # seeds of round 0 that every cell runs before twins are merged (1..min_seeds)
