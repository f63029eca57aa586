"""What a race runs, known before anything is created: its cells (the command line's grid) and round 0's jobs."""

from typing import Any, List, Tuple

from omegaconf import DictConfig

from sweep.config import cells, compose_jobs, plan
from sweep.config.overrides import keys
from sweep.config.schema import ConfigError
from sweep.race import rules as race_rules

SEED = cells.SEED


def seed_key(config: DictConfig) -> str:
    """The key the race seeds: hydra.sweeper.seed_key, else train.seed in sweep.train and seed in any other app."""
    from sweep.config import app_kind as kind

    return config.hydra.sweeper.get("seed_key") or (SEED if kind.is_sweep_train(config) else "seed")


def grid(config: DictConfig, seed: str = SEED) -> List[List[str]]:
    """Each cell's overrides: every job of the grid the command line (and hydra.sweeper.params) gives, as for -m."""
    jobs = plan.grid(config)
    if any(seed in keys(job) for job in jobs):
        raise ConfigError(
            f"{seed}: the race runs the seeds itself (0, 1, 2, ... up to hydra.sweeper.max_seeds); "
            f"remove {seed} from the command line"
        )
    repeated = [job for i, job in enumerate(jobs) if job in jobs[:i]]
    if repeated:
        swept = [o for o, k in zip(repeated[0], keys(repeated[0]), strict=True) if k in plan.swept_keys(jobs)]
        swept = swept or repeated[0]
        raise ConfigError(f"{keys(swept)[0]}: the grid holds the cell {' '.join(swept)} twice")
    return jobs


def job(cell: List[str], seed: int, key: str = SEED) -> List[str]:
    """The overrides of one job: its cell's, then its seed."""
    return [*cell, f"{key}={seed}"]


def round_zero(config: DictConfig) -> List[List[str]]:
    """Round 0's jobs (every cell at seeds 0..min_seeds-1), after checking the race's settings against the grid."""
    rules = race_rules.from_config(config.hydra.sweeper)
    cell_overrides = grid(config)
    race_rules.check_budget(rules, len(cell_overrides))
    return [job(cell, seed) for cell in cell_overrides for seed in range(rules.min_seeds)]


def named(config: Any, cell_overrides: List[List[str]], loader: Any) -> List[Tuple[str, DictConfig, List[str]]]:
    """(name, config composed at seed 0, swept keys) of each cell: named as its jobs name it (sweep.config.cells)."""
    swept = plan.swept_keys([job(cell, seed) for cell in cell_overrides for seed in (0, 1)])  # as round 0 sweeps
    out, compose = [], compose_jobs.composer(loader, config)
    for cell in cell_overrides:
        cfg = compose(job(cell, 0))
        out.append((cells.name(cells.values(cfg, cfg.hydra.runtime.choices, swept)), cfg, swept))
    return out
