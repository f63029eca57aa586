"""The race's settings (`hydra.sweeper.*` of hydra/sweeper=race), checked, and what follows from them."""

import math
from dataclasses import dataclass
from typing import Any

from sweep.config.checks import _check
from sweep.race.settings import RaceSettings

KEY = "hydra.sweeper."
METRICS = ("val_accuracy", "test_accuracy")  # higher is better; the last epoch's value (MLflow's latest)


@dataclass
class Rules(RaceSettings):
    """How a race runs: seeds per round, when a cell is out, when the race stops (defaults: RaceSettings)."""

    @property
    def looks(self) -> int:
        """How many times the race can test: round 0 at min_seeds, then every `step` seeds up to max_seeds."""
        return 1 + math.ceil((self.max_seeds - self.min_seeds) / self.step)

    @property
    def alpha_per_look(self) -> float:
        """The level of each round's tests: alpha split evenly over the possible looks (Bonferroni).

        Testing the same cells again after every round is sequential testing: at alpha per look the true best was
        eliminated in about 10% of simulated races at alpha = 0.05 (benchmarks/race.py, docs/race.md). The even
        split holds whatever the dependence between rounds; group-sequential boundaries (Pocock) would be less
        strict, but they assume known variances and equal steps, which a t-test on 2-10 seeds is far from.
        """
        return self.alpha / self.looks

    def first_round_jobs(self, cells: int) -> int:
        """Jobs of round 0."""
        return cells * self.min_seeds


def from_config(sweeper: Any, app: bool = False) -> Rules:
    """The rules of a `hydra.sweeper` config node; ConfigError (one line naming the key) for a bad value.

    In sweep.train the metric is one of its run's accuracies; in any other app (`app`) a key of the task's result.
    """
    rules = Rules(**{k: sweeper.get(k, getattr(Rules, k)) for k in Rules.__dataclass_fields__})
    _check(_integer(rules.min_seeds) and rules.min_seeds >= 2, f"{KEY}min_seeds", "an integer >= 2", rules.min_seeds)
    _check(
        _integer(rules.max_seeds) and rules.max_seeds >= rules.min_seeds,
        f"{KEY}max_seeds",
        f"an integer >= hydra.sweeper.min_seeds ({rules.min_seeds})",
        rules.max_seeds,
    )
    _check(_integer(rules.step) and rules.step >= 1, f"{KEY}step", "an integer >= 1", rules.step)
    _check(0.0 < rules.alpha < 1.0, f"{KEY}alpha", "in (0, 1)", rules.alpha)
    _check(rules.epsilon >= 0.0, f"{KEY}epsilon", ">= 0 (0: no practical-equivalence stop)", rules.epsilon)
    _check_objective(rules, app)
    _check(
        rules.max_jobs is None or (_integer(rules.max_jobs) and rules.max_jobs >= 1),
        f"{KEY}max_jobs",
        "null (no limit) or an integer >= 1",
        rules.max_jobs,
    )
    _check(isinstance(rules.merge_twins, bool), f"{KEY}merge_twins", "true or false", rules.merge_twins)
    _check(
        _integer(rules.twin_seeds) and 1 <= rules.twin_seeds <= rules.min_seeds,
        f"{KEY}twin_seeds",
        f"an integer from 1 to hydra.sweeper.min_seeds ({rules.min_seeds})",
        rules.twin_seeds,
    )
    return rules


def _check_objective(rules: Rules, app: bool) -> None:
    """The metric, its direction and the seed key: any app's own; sweep.train's accuracies and train.seed."""
    if app:
        ok = isinstance(rules.metric, str) and bool(rules.metric)
        _check(ok, f"{KEY}metric", "a key of the task's result", rules.metric)
        ok = rules.seed_key is None or (isinstance(rules.seed_key, str) and rules.seed_key.strip() != "")
        _check(ok, f"{KEY}seed_key", "null or the dotted key the task seeds from", rules.seed_key)
    else:
        _check(rules.metric in METRICS, f"{KEY}metric", f"one of {', '.join(METRICS)}", rules.metric)
        ok = rules.seed_key in (None, "train.seed")
        _check(ok, f"{KEY}seed_key", "null or train.seed (sweep.train's seed)", rules.seed_key)
    directions = ("maximize", "minimize") if app else ("maximize",)
    _check(rules.direction in directions, f"{KEY}direction", " or ".join(directions), rules.direction)


def check_budget(rules: Rules, cells: int) -> None:
    """ConfigError when max_jobs cannot even pay for round 0."""
    needed = rules.first_round_jobs(cells)
    _check(
        rules.max_jobs is None or rules.max_jobs >= needed,
        f"{KEY}max_jobs",
        f"null or at least round 0's {cells} cells x {rules.min_seeds} seeds = {needed} jobs",
        rules.max_jobs,
    )


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
