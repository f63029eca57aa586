"""Expand a multirun's overrides into its jobs, and check every job's config before anything is tracked."""

from typing import Any, List, Optional

import yaml
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from sweep import data
from sweep.config import cells, checks, options, overrides, schema

ENV_SWEPT_KEYS = cells.ENV_SWEPT_KEYS
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


def swept(config: DictConfig, jobs: Optional[List[List[str]]]) -> List[str]:
    """The sweep's swept keys: from the basic sweeper's jobs, else from what any sweeper was given."""
    return swept_keys(jobs) if jobs is not None else cells.swept_keys(config)


def _job_config(loader: Any, config: DictConfig, job: List[str]) -> DictConfig:
    """One job's config, checked; a bad value or option file becomes one ConfigError line naming it."""
    searchpath = list(config.hydra.searchpath)
    try:
        job_cfg = loader.load_sweep_config(config, list(job))
    except (HydraException, yaml.YAMLError) as exc:
        raise schema.ConfigError(options.one_line(exc, config, searchpath)) from exc
    try:
        checks.validate(job_cfg)
    except schema.ConfigError as exc:
        raise schema.ConfigError(options.in_file(exc, job_cfg, overrides.keys(job)), exc.key) from exc
    return job_cfg


def check(config: DictConfig, jobs: List[List[str]]) -> List[dict]:
    """Compose and validate every job (and read its data once); return each planned job's cell, names and hashes."""
    loader = GlobalHydra.instance().config_loader()
    keys = swept_keys(jobs)
    planned = []
    for job in jobs:
        job_cfg = _job_config(loader, config, job)
        data.raw(job_cfg.data.name, job_cfg.data.path)  # missing or corrupt data fails here, read once
        cell = cells.name(cells.values(job_cfg, job_cfg.hydra.runtime.choices, keys))
        planned.append(
            {
                "cell": cell,
                "run": cells.run_name(cell, job_cfg, keys),
                "cell_hash": cells.cell_hash(job_cfg),
                "config_hash": cells.config_hash(job_cfg),
                "retrain": bool(job_cfg.retrain),
                "data": OmegaConf.to_container(job_cfg.data, resolve=True),  # what sweep.warmup loads ahead
            }
        )
    return planned
