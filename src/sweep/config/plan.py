"""Expand a multirun's overrides into its jobs, and check every job's config before anything is tracked."""

from typing import Any, List, Optional

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from sweep import data
from sweep.config import checks, schema

ENV_SWEPT_KEYS = "SWEEP_SWEPT_KEYS"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def expand(config: DictConfig) -> Optional[List[List[str]]]:
    """The override list of every job the configured sweeper will launch first (None when it cannot say).

    The basic sweeper's jobs are the grid. Any other sweeper class may plan its own: a `planned_jobs(config)`
    static method that returns the jobs to check, or raises ConfigError for a bad setting of its own.
    """
    target = config.hydra.sweeper.get("_target_")
    if target == BASIC_SWEEPER:
        return grid(config)
    try:
        planner = getattr(get_class(target), "planned_jobs", None)
    except Exception:  # noqa: BLE001 - a sweeper we cannot import plans nothing here; Hydra reports it itself
        return None
    return planner(config) if planner else None


def grid(config: DictConfig) -> List[List[str]]:
    """Every job of the command line's product (and hydra.sweeper.params), as the basic sweeper expands them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    loader = GlobalHydra.instance().config_loader()
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def swept_keys(jobs: List[List[str]]) -> List[str]:
    """The override keys that take more than one value across the jobs."""
    values: dict = {}
    for job in jobs:
        for override in job:
            key, _, value = override.partition("=")
            values.setdefault(key.lstrip("+~"), set()).add(value)
    return [key for key, seen in values.items() if len(seen) > 1]


def cell_name(choices: Any, overrides: List[str], swept: List[str]) -> str:
    """A job's cell name: `reg=… act=…`, then every other swept key, in override order."""
    extra = [
        o for o in overrides if o.partition("=")[0].lstrip("+~") in swept and o.partition("=")[0] not in ("reg", "act")
    ]
    return " ".join([f"reg={choices['reg']}", f"act={choices['act']}", *extra])


def check(config: DictConfig, jobs: List[List[str]]) -> List[dict]:
    """Compose and validate every job (and read its data once); return each planned cell's name and hash."""
    loader = GlobalHydra.instance().config_loader()
    swept = swept_keys(jobs)
    cells = []
    for overrides in jobs:
        job_cfg = loader.load_sweep_config(config, list(overrides))
        checks.validate(job_cfg)
        data.raw(job_cfg.data.name, job_cfg.data.path)  # missing or corrupt data fails here, read once
        name = cell_name(job_cfg.hydra.runtime.choices, list(overrides), swept)
        cells.append(
            {
                "cell": name,
                "config_hash": schema.config_hash(job_cfg),
                "retrain": bool(job_cfg.retrain),
                "data": OmegaConf.to_container(job_cfg.data, resolve=True),  # what sweep.warmup loads ahead
            }
        )
    return cells
