"""What a race runs, known before anything is created: its cells (the command line's grid) and round 0's jobs."""

from typing import Any, List

from omegaconf import DictConfig

from sweep.config import plan
from sweep.config.schema import ConfigError
from sweep.search import race_rules

SEED = "train.seed"


def key(override: str) -> str:
    """The key an override sets (`++train.seed=3` -> `train.seed`)."""
    return override.partition("=")[0].lstrip("+~")


def cells(config: DictConfig) -> List[List[str]]:
    """Each cell's overrides: every job of the grid the command line (and hydra.sweeper.params) gives, as for -m."""
    grid = plan.grid(config)
    if any(key(o) == SEED for job in grid for o in job):
        raise ConfigError(
            f"{SEED}: the race runs the seeds itself (0, 1, 2, ... up to hydra.sweeper.max_seeds); "
            f"remove {SEED} from the command line"
        )
    repeated = [job for i, job in enumerate(grid) if job in grid[:i]]
    if repeated:
        swept = [o for o in repeated[0] if key(o) in plan.swept_keys(grid)] or repeated[0]
        raise ConfigError(f"{key(swept[0])}: the grid holds the cell {' '.join(swept)} twice")
    return grid


def job(cell: List[str], seed: int) -> List[str]:
    """The overrides of one job: its cell's, then its seed."""
    return [*cell, f"{SEED}={seed}"]


def round_zero(config: DictConfig) -> List[List[str]]:
    """Round 0's jobs (every cell at seeds 0..min_seeds-1), after checking the race's settings against the grid."""
    rules = race_rules.from_config(config.hydra.sweeper)
    grid = cells(config)
    race_rules.check_budget(rules, len(grid))
    return [job(cell, seed) for cell in grid for seed in range(rules.min_seeds)]


def cell_names(config: Any, grid: List[List[str]], loader: Any) -> List[tuple]:
    """(name, composed config at seed 0) of each cell; the name as a job's run name, without its seed."""
    swept = [k for k in plan.swept_keys(grid) if k != SEED]
    out = []
    for cell in grid:
        cfg = loader.load_sweep_config(config, job(cell, 0))
        out.append((plan.cell_name(cfg.hydra.runtime.choices, cell, swept), cfg))
    return out
