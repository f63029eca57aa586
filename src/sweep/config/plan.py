"""Expand a multirun's overrides into its jobs, and check every job's config before anything is tracked.

The basic sweeper's jobs are known ahead: each is a cell. A sweeper that decides as it goes (hydra/sweeper=search)
offers a static `plan(config) -> SweeperPlan` on its class: it checks its own options and names configs that reach
every bound of its space, which are composed and checked here, before the parent run or any study exists.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from sweep import data
from sweep.config import checks, overrides, schema

ENV_SWEPT_KEYS = "SWEEP_SWEPT_KEYS"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def expand(config: DictConfig) -> Optional[List[List[str]]]:
    """The override list of every job the basic sweeper will launch (None for other sweepers)."""
    if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
        return None
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
    for job in jobs:
        try:
            job_cfg = loader.load_sweep_config(config, list(job))
        except HydraException as exc:  # an unknown key or option that only a sweeper's space named
            raise schema.ConfigError(overrides.one_line(exc, config)) from None
        checks.validate(job_cfg)
        data.raw(job_cfg.data.name, job_cfg.data.path)  # missing or corrupt data fails here, read once
        name = cell_name(job_cfg.hydra.runtime.choices, list(job), swept)
        cells.append(
            {
                "cell": name,
                "config_hash": schema.config_hash(job_cfg),
                "retrain": bool(job_cfg.retrain),
                "data": OmegaConf.to_container(job_cfg.data, resolve=True),  # what sweep.warmup loads ahead
            }
        )
    return cells


@dataclass
class SweeperPlan:
    """What a sweeper that decides as it goes knows before it starts (see the module's docstring)."""

    examples: List[List[str]]  # override lists that reach every bound of its space: each is composed and checked
    n_jobs: int  # jobs this invocation launches at most
    workers: int  # jobs at once
    swept: List[str]  # the keys it varies
    env: Dict[str, str] = field(default_factory=dict)  # handed to every job through the environment


@dataclass
class Planned:
    """What the parent knows of a multirun before any job runs."""

    cells: List[dict] = field(default_factory=list)  # the grid's checked cells ([] when the sweeper decides as it goes)
    n_jobs: int = 0  # 0: not known ahead
    workers: Optional[int] = None  # None: as many as the launcher runs
    swept: List[str] = field(default_factory=list)
    env: Dict[str, str] = field(default_factory=dict)
    data: Optional[dict] = None  # a job's data keys, for the warm-up


def sweeper_plan(config: DictConfig) -> Optional[SweeperPlan]:
    """The plan of a sweeper class that offers one (ours), else None; raises ValueError on its bad options."""
    target = config.hydra.sweeper.get("_target_")
    if not target or target == BASIC_SWEEPER:
        return None
    make = getattr(get_class(target), "plan", None)  # found by the config's _target_, as Hydra finds the sweeper
    return make(config) if callable(make) else None


def planned(config: DictConfig) -> Planned:
    """Expand and check the multirun's jobs (or a sweeper's bounds) before anything is tracked."""
    jobs = expand(config)
    if jobs is not None:
        cells = check(config, jobs)
        return Planned(cells, len(cells), None, swept_keys(jobs), {}, cells[0]["data"] if cells else None)
    own = sweeper_plan(config)
    if own is None:
        return Planned()
    examples = check(config, own.examples)
    return Planned([], own.n_jobs, own.workers, own.swept, own.env, examples[0]["data"] if examples else None)
