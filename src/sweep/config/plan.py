"""Expand a multirun's overrides into its jobs, and check every job's config before anything is tracked.

The basic sweeper's jobs are known ahead: each is a cell. Our other sweepers are `PlansAhead`
(sweep.config.sweeper_contract): their `plan(config) -> SweeperPlan` checks their own options and names configs to
compose and check here, before the parent run or any study exists: a search the configs that reach every bound of
its space, a race its round 0 (the jobs it launches first, which are then checked, named and resumed as a grid's are).
"""

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import yaml
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from sweep.config import builders, cells, checks, compose_jobs, hydra_settings, limits, options, overrides, schema
from sweep.config.sweeper_contract import PlansAhead, SweeperPlan

ENV_SWEPT_KEYS = cells.ENV_SWEPT_KEYS


def expand(config: DictConfig) -> Optional[List[List[str]]]:
    """The override list of every job the basic sweeper will launch (None for other sweepers)."""
    return grid(config) if config.hydra.sweeper.get("_target_") in hydra_settings.GRID_SWEEPERS else None


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


def _job_config(compose: Callable[[List[str]], DictConfig], config: DictConfig, job: List[str]) -> DictConfig:
    """One job's config, checked; a bad value or option file becomes one ConfigError line naming it."""
    searchpath = list(config.hydra.searchpath)
    try:
        job_cfg = compose(list(job))
    except (HydraException, yaml.YAMLError) as exc:
        raise schema.ConfigError(options.one_line(exc, config, searchpath)) from exc
    try:
        checks.validate(job_cfg)
    except schema.ConfigError as exc:
        raise schema.ConfigError(options.in_file(exc, job_cfg, overrides.keys(job)), exc.key) from exc
    return job_cfg


def check(
    config: DictConfig,
    jobs: List[List[str]],
    specs: Optional[builders.Specs] = None,
    first: Optional[Callable[[dict], None]] = None,
) -> List[dict]:
    """Compose and validate every job (and read its data once); return each planned job's cell, names and hashes.

    `specs` collects each distinct user model option (sweep.config.builders); `first(data keys)` is called once the
    first job passed, its data read (the warm-up starts then, while the others are checked)."""
    loader = GlobalHydra.instance().config_loader()
    composer = compose_jobs.composer(loader, config)
    keys = swept_keys(jobs)
    planned = []
    for job in jobs:
        job_cfg = _job_config(composer, config, job)
        limits.read_data(job_cfg)  # missing or corrupt data, or a limit too small, fails here; read once
        if specs is not None:
            specs.add(job_cfg)
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
        if first is not None and len(planned) == 1:
            first(planned[0]["data"])
    return planned


@dataclass
class Planned:
    """What the parent knows of a multirun before any job runs."""

    cells: List[dict] = field(default_factory=list)  # the grid's checked cells ([] when the sweeper decides as it goes)
    swept: List[str] = field(default_factory=list)
    n_jobs: int = 0  # 0: not known ahead
    workers: Optional[int] = None  # None: as many as the launcher runs
    env: Dict[str, str] = field(default_factory=dict)
    data: Optional[dict] = None  # a job's data keys, for the warm-up
    more: bool = False  # the sweeper may launch more jobs than `cells` (a race's later rounds)
    builders: List[dict] = field(default_factory=list)  # each distinct user model option (sweep.config.builders)


def sweeper_plan(config: DictConfig) -> Optional[SweeperPlan]:
    """The plan of a sweeper class that offers one (ours), else None; raises ValueError on its bad options."""
    target = config.hydra.sweeper.get("_target_")
    if not target or target in hydra_settings.GRID_SWEEPERS:
        return None
    sweeper = get_class(target)  # found by the config's _target_, as Hydra finds the sweeper
    return sweeper.plan(config) if issubclass(sweeper, PlansAhead) else None


def planned(config: DictConfig, ahead: Optional[Callable[[int, Dict[str, str], dict], None]] = None) -> Planned:
    """Expand and check the multirun's jobs (or a sweeper's bounds, or its first jobs) before anything is tracked;
    `ahead(n_jobs, env, data keys)` is called as soon as the first job passed its checks (sweep's warm-up)."""
    own = sweeper_plan(config)  # None for the basic sweeper
    jobs = own.examples if own and own.first_jobs else expand(config)
    if jobs == []:
        raise schema.ConfigError(hydra_settings.no_job(config))
    if jobs is None and own is None:  # another sweeper than ours: its jobs are checked as they run
        return Planned(swept=swept(config, None))
    specs = builders.Specs()
    n, env = (len(jobs), own.env if own else {}) if jobs is not None else (own.n_jobs, own.env)
    first = (lambda data: ahead(n, env, data)) if ahead else None
    checked = check(config, jobs if jobs is not None else own.examples, specs, first)
    data_keys = checked[0]["data"] if checked else None
    if jobs is None:  # a search: the configs at its bounds are checked, its jobs are not known ahead
        result = Planned([], swept(config, None), own.n_jobs, own.workers, own.env, data_keys)
    elif own is None:
        result = Planned(checked, swept(config, jobs), len(checked), data=data_keys)
    else:
        result = Planned(checked, swept(config, jobs), len(checked), own.workers, own.env, data_keys, more=True)
    result.builders = specs.all()
    return result
