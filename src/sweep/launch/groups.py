"""How the launcher hands out a batch of jobs: cells that can train together fused, the longest work first.

Jobs whose overrides differ only in keys cells may fuse on (sweep.config.fusion: the activation, the learning
rate) form a bucket per seed; a bucket is cut into groups of at most `fuse` cells, evenly. A task takes the same
group of every seed, one seed after another, so that a worker compiles a group's program once and reuses it for
the next seeds (sweep.training.programs). A few long tasks would leave a worker idle while the last one runs, so the
costliest task's seeds are halved (one more compile) until each worker has TASKS_PER_WORKER tasks, and a task's
cells are halved until every worker has one, where the jobs allow. A job that cannot fuse (another loop than
in_graph, or another Hydra app's) is a task alone. Tasks go out costliest first (their cells' operations,
sweep.config.cost), so that no worker idles while the last, longest one runs: joblib's workers take the next task
as they finish.
"""

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from sweep.config import cost, fusion, schema

TASKS_PER_WORKER = 3  # enough tasks that the last one to end is short: the idle tail is at most a small task


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


def _layout(together: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(o for o in together if not o.lstrip("+~").startswith("train.seed="))


def _across_seeds(by_seed: List[List[int]], fuse: int) -> List[List[List[int]]]:
    """Each seed's cells cut into groups of `fuse`; a chain takes the same group of every seed, seed after seed."""
    per_seed = [_even(members, fuse) for members in by_seed]
    return [[groups[k] for groups in per_seed if k < len(groups)] for k in range(max(map(len, per_seed)))]


def _split_seeds(chains: List[List[List[int]]], workers: int, costs: Dict[int, float]) -> List[List[List[int]]]:
    """Halve the costliest chain's seeds until there are TASKS_PER_WORKER chains a worker or none has two seeds.

    Measured: 8 cells x 5 seeds in 2 chains (one per layer stack) left one worker idle for 62 s of a 357 s sweep,
    while a split costs one more compile (a few seconds).
    """

    def chain_cost(chain: List[List[int]]) -> float:
        return sum(costs[i] for group in chain for i in group)

    chains = list(chains)
    while len(chains) < TASKS_PER_WORKER * workers:
        splittable = [chain for chain in chains if len(chain) > 1]
        if not splittable:
            break
        longest = max(splittable, key=chain_cost)
        chains.remove(longest)
        half = (len(longest) + 1) // 2
        chains += [longest[:half], longest[half:]]
    return chains


def plan(
    jobs: Sequence[Sequence[str]], fuse: int, workers: int, compose: Callable[[Sequence[str]], Optional[Any]]
) -> List[List[int]]:
    """The jobs' indices in tasks to run in one worker each, costliest task first.

    `compose(overrides)` gives a job's config (None if it cannot be composed); it is asked once per distinct
    layout of overrides apart from fusable keys and the seed, which change no job's cost.
    """
    if len(jobs) == 1:  # a search's one trial a call: nothing to group, nothing to compose
        return [[0]]
    layouts: Dict[Tuple[str, ...], Dict[Tuple[str, ...], List[int]]] = {}
    for index, overrides in enumerate(jobs):
        together = fusion.together(overrides)
        layouts.setdefault(_layout(together), {}).setdefault(together, []).append(index)
    chains: List[List[List[int]]] = []  # a task's groups of cells, one a seed
    costs: Dict[int, float] = {}
    for by_seed in layouts.values():
        members = [i for seed in by_seed.values() for i in seed]
        cfg = compose(jobs[members[0]])
        study = schema.is_sweep_config(cfg)  # another app's jobs: each alone, as Hydra's joblib launcher runs them
        costs.update((i, cost.of_cell(cfg).total if study else 0.0) for i in members)
        if study and fusion.can_fuse(cfg):
            chains += _across_seeds(list(by_seed.values()), max(1, fuse))
        else:
            chains += [[[i]] for i in members]
    tasks = [[i for group in chain for i in group] for chain in _split_seeds(chains, workers, costs)]
    tasks = _spread(tasks, workers) if len(tasks) < workers else tasks
    return sorted(tasks, key=lambda task: -sum(costs[i] for i in task))  # stable: the sweep's order otherwise
