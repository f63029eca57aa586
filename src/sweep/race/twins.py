"""Twins in a race: cells whose jobs trained bit-identical weights at every seed so far, raced as the first of them.

Two cells whose nets end with the same weights at every seed are one experiment under two names (the study's
input-level `l1`/`l2` beside `none`). Their jobs' digests (`Outcome.digest`, the runs' `weights_hash`) say so;
equal metric values would not (accuracies are counts over a few thousand images and collide).
"""

from typing import Any, Dict, List


def merge(race: Any, seeds: int) -> List[str]:
    """Take out of the race every alive cell whose digests at seeds 0..seeds-1 equal an earlier alive cell's.

    Returns the new twins (race.twins maps each to its first). A cell with a job of unknown digest is nobody's twin.
    """
    first: Dict[tuple, str] = {}
    new = []
    for cell in race.alive:
        key = tuple(race.digests.get((cell, s)) for s in range(seeds))
        if cell in race.failed or None in key:
            continue
        if key in first:
            race.twins[cell] = first[key]
            new.append(cell)
        else:
            first[key] = cell
    race.alive = [c for c in race.alive if c not in new]
    return new
