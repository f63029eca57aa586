"""How the launcher hands out a batch of jobs: cells that can train together fused, the longest work first.

Jobs whose overrides differ only in keys cells may fuse on (sweep.config.fusion: the activation, the learning
rate) form a bucket; a bucket is cut into groups of at most `fuse` cells, evenly, and groups are halved until every
worker has one where the jobs allow. A job that cannot fuse (another loop than in_graph) stays alone. Groups go out
costliest first (their cells' operations, sweep.config.cost), so that no worker idles while the last, longest one
runs: joblib's workers take the next group as they finish.
"""

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from sweep.config import cost, fusion


def _even(members: List[int], size: int) -> List[List[int]]:
    parts = math.ceil(len(members) / size)
    return [members[i::parts] for i in range(parts)] if parts > 1 else [members]


def _spread(groups: List[List[int]], workers: int) -> List[List[int]]:
    """Halve the largest groups until there are `workers` of them or no group has two cells."""
    groups = sorted(groups, key=len, reverse=True)
    while len(groups) < workers and len(groups[0]) > 1:
        largest = groups.pop(0)
        groups = sorted([*groups, largest[::2], largest[1::2]], key=len, reverse=True)
    return groups


def plan(
    jobs: Sequence[Sequence[str]], fuse: int, workers: int, compose: Callable[[Sequence[str]], Optional[Any]]
) -> List[List[int]]:
    """The jobs' indices in groups to run together, costliest group first.

    `compose(overrides)` gives a job's config (None if it cannot be composed); it is asked once per distinct
    layout of overrides apart from fusable keys and the seed, which change no job's cost.
    """
    if len(jobs) == 1:  # a search's one trial a call: nothing to group, nothing to compose
        return [[0]]
    buckets: Dict[Tuple[str, ...], List[int]] = {}
    for index, overrides in enumerate(jobs):
        buckets.setdefault(fusion.together(overrides), []).append(index)
    known: Dict[Tuple[str, ...], Tuple[bool, float]] = {}
    groups, costs = [], {}
    for together, members in buckets.items():
        layout = tuple(o for o in together if not o.lstrip("+~").startswith("train.seed="))
        if layout not in known:
            cfg = compose(jobs[members[0]])
            known[layout] = (cfg is not None and fusion.can_fuse(cfg), cost.of_cell(cfg).total if cfg else 0.0)
        fusable, each = known[layout]
        costs.update((i, each) for i in members)
        groups += _even(members, max(1, fuse)) if fusable else [[i] for i in members]
    groups = _spread(groups, workers) if len(groups) < workers else groups
    return sorted(groups, key=lambda group: -sum(costs[i] for i in group))  # stable: the sweep's order otherwise
