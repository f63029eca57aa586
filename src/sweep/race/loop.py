"""The race's rounds: seed every cell still in contention, judge, drop the proven worse, stop when the rules say so.

The sweeper and the simulation (benchmarks/race.py) both run this loop; only how a round's jobs get their values
differs (Hydra's launcher and MLflow, or random draws).

Twins: cells whose jobs trained bit-identical weights at every seed so far (equal `Outcome.digest`s) are one
experiment under several names. With `merge_twins` (the default) the later ones race as the first: they leave the
rounds (state `twin`, `same_as` the first) and share its fate; no more of their seeds are paid for, and the tests
count the experiment once. Round 0 runs every cell at its first `twin_seeds` seeds (default 1) before the rest of
its seeds, so a twin found there pays for no more.
"""

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from sweep.race import twins as race_twins
from sweep.race import verdict as racing
from sweep.race.rules import Rules

Job = Tuple[str, int]  # (cell, seed)


@dataclass(frozen=True)
class Outcome:
    """A job as the race reads it: its metric value (None: it failed) and what it trained, hashed (None: unknown)."""

    value: Optional[float]
    digest: Optional[str] = None


# evaluate(round, jobs) -> each job's Outcome, or just its metric value (None for a job that failed)
Evaluate = Callable[[int, List[Job]], Dict[Job, Union[None, float, Outcome]]]


@dataclass
class Race:
    """A race as it stands: every cell's values by seed, who is alive, the rounds so far."""

    cells: List[str]
    values: Dict[str, List[float]] = field(default_factory=dict)
    alive: List[str] = field(default_factory=list)
    failed: List[str] = field(default_factory=list)
    twins: Dict[str, str] = field(default_factory=dict)  # cell -> the cell it races as (bit-identical runs)
    digests: Dict[Job, str] = field(default_factory=dict)
    rows: List[dict] = field(default_factory=list)  # per round and cell: round, cell, n, mean, std, p_holm, state…
    jobs: int = 0
    rounds: int = 0
    stop: Optional[str] = None

    @property
    def best(self) -> List[str]:
        """The winner, or the cells that remain, best first."""
        return sorted(self.alive, key=lambda c: -float(np.mean(self.values[c])))

    def named(self, cell: str) -> List[str]:
        """The cell and its twins (the cells that race as it), in grid order."""
        return [cell, *[c for c in self.cells if self.twins.get(c) == cell]]


def run(cells: List[str], rules: Rules, evaluate: Evaluate, after_round: Callable[[Race], None] = None) -> Race:
    """Race the cells until one remains, the rest are equivalent to the best, max_seeds or max_jobs."""
    race = Race(cells=list(cells), values={c: [] for c in cells}, alive=list(cells))
    seeds = 0
    want = rules.min_seeds
    while True:
        twins = []
        for first, last in _stages(rules, seeds, want):
            batch = [(cell, seed) for cell in race.alive for seed in range(first, last)]
            _record_values(race, batch, evaluate(race.rounds, batch))
            twins += race_twins.merge(race, last) if rules.merge_twins else []
        seeds = want
        race.stop = _judge_round(race, rules, seeds, twins)
        if after_round:
            after_round(race)
        if race.stop:
            return race
        want = min(seeds + rules.step, rules.max_seeds)
        race.rounds += 1


def _stages(rules: Rules, seeds: int, want: int) -> List[Tuple[int, int]]:
    """The seed ranges a round runs one after the other: round 0 runs twin_seeds first, so twins skip the rest."""
    if seeds == 0 and rules.merge_twins and 0 < rules.twin_seeds < want:
        return [(0, rules.twin_seeds), (rules.twin_seeds, want)]
    return [(seeds, want)]


def _record_values(race: Race, batch: List[Job], values: Dict[Job, Union[None, float, Outcome]]) -> None:
    race.jobs += len(batch)
    for cell, seed in batch:
        outcome = values.get((cell, seed))
        outcome = outcome if isinstance(outcome, Outcome) else Outcome(outcome)
        value = outcome.value
        if outcome.digest is not None:
            race.digests[(cell, seed)] = outcome.digest
        if value is None or not np.isfinite(value):
            if cell not in race.failed:
                race.failed.append(cell)
        elif cell not in race.failed:
            race.values[cell].append(float(value))


def _judge_round(race: Race, rules: Rules, seeds: int, twins: List[str]) -> Optional[str]:
    """Judge the round, write its rows, drop the eliminated and the failed; return why the race stops, or None."""
    failed = [c for c in race.alive if c in race.failed]
    race.alive = [c for c in race.alive if c not in race.failed]
    verdict = racing.judge({c: np.array(race.values[c]) for c in race.alive}, rules) if race.alive else None
    for cell in failed:
        race.rows.append(_row(race, cell, np.nan, racing.FAILED))
    for cell in twins:
        race.rows.append(_row(race, cell, np.nan, racing.TWIN))
    for cell in race.alive:
        race.rows.append(_row(race, cell, verdict.p_holm.get(cell, np.nan), verdict.state(cell)))
    if verdict is None:
        return "every cell failed"
    race.alive = [c for c in race.alive if c not in verdict.eliminated]
    if len(race.alive) == 1:
        return "one cell left"
    if verdict.equivalent:
        return f"every survivor is practically equivalent to the best (TOST within epsilon {rules.epsilon:g})"
    if seeds >= rules.max_seeds:
        return f"the survivors reached max_seeds ({rules.max_seeds})"
    next_jobs = len(race.alive) * (min(seeds + rules.step, rules.max_seeds) - seeds)
    if rules.max_jobs is not None and race.jobs + next_jobs > rules.max_jobs:
        return f"the next round's {next_jobs} jobs would pass max_jobs ({rules.max_jobs}; {race.jobs} used)"
    return None


def _row(race: Race, cell: str, p_holm: float, state: str) -> dict:
    x = np.array(race.values[cell])
    return {
        "round": race.rounds,
        "cell": cell,
        "n": len(x),
        "mean": float(x.mean()) if len(x) else np.nan,
        "std": float(x.std(ddof=1)) if len(x) > 1 else np.nan,
        "p_holm": p_holm,
        "state": state,
        "same_as": race.twins.get(cell, ""),
    }
