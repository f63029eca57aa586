"""One round of a race, decided: the current best, which cells are proven worse, whether the rest are equivalent."""

from dataclasses import dataclass, field
from typing import Dict, List, Mapping

import numpy as np

from sweep.inference import equivalence
from sweep.inference import welch as stats
from sweep.race.rules import Rules

BEST, ALIVE, ELIMINATED, FAILED, TWIN = "best", "alive", "eliminated", "failed", "twin"


@dataclass
class Verdict:
    """What one round's tests say about the cells still in the race."""

    best: str
    eliminated: List[str]
    p_holm: Dict[str, float] = field(default_factory=dict)  # each other cell against the best
    equivalent: bool = False  # every survivor practically equivalent to the best

    def state(self, cell: str) -> str:
        """best | eliminated | alive."""
        return BEST if cell == self.best else ELIMINATED if cell in self.eliminated else ALIVE


def judge(samples: Mapping[str, np.ndarray], rules: Rules) -> Verdict:
    """The round's verdict on the cells' samples (their metric over seeds 0..n-1, in seed order).

    The best is the highest mean (the first such cell on a tie). Every other cell is tested against it by Welch's
    one-sided test (is it worse?), Holm-corrected across them at the per-look level; the rejected are eliminated.
    """
    means = {cell: float(np.mean(x)) for cell, x in samples.items()}
    best = max(means, key=means.__getitem__)
    tested = stats.versus_best(samples, best, rules.alpha_per_look, one_sided=True)
    eliminated = [cell for cell, (_, _, verdict) in tested.items() if verdict == "worse"]
    survivors = [cell for cell in samples if cell != best and cell not in eliminated]
    return Verdict(
        best=best,
        eliminated=eliminated,
        p_holm={cell: p_holm for cell, (_, p_holm, _) in tested.items()},
        equivalent=all_equivalent(samples, best, survivors, rules),
    )


def all_equivalent(samples: Mapping[str, np.ndarray], best: str, survivors: List[str], rules: Rules) -> bool:
    """Whether every survivor is within epsilon of the best by TOST.

    "All are equivalent" is an intersection-union test: each TOST at the level itself controls the joint claim, so
    there is no correction across cells; the level is the per-look one, as the race looks again every round.
    """
    farthest_first = sorted(survivors, key=lambda c: float(np.mean(samples[c])))  # the likeliest to fail
    return all(
        equivalence.equivalent(samples[c], samples[best], rules.epsilon, rules.alpha_per_look) for c in farthest_first
    )
