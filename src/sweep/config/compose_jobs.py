"""Compose a grid's job configs as Hydra does, paying Hydra's full composition once per set of config-group choices.

Hydra composes a job in two steps: the defaults list (from the config-group overrides) merged into one config, then
every other override applied to it in order (`ConfigLoaderImpl._apply_overrides_to_config`, which sets each value
with `OmegaConf.update`). Jobs that differ only in plain values of existing keys (seeds, learning rates, widths)
share the first step, which is nearly all of the ~0.2 s a job costs: a minute of planning for a 320-job grid before
anything starts. So the first job of each shape (its group overrides, and the keys its plain values set) is composed
by Hydra, and every later job of that shape is a copy of it with the job's own values applied by Hydra's own code,
and Hydra's record of them (`hydra.overrides.task`, `hydra.job.override_dirname`) rewritten as Hydra writes it.

Reused, then: the jobs of one set of choices (group options, packages, `hydra.*` overrides: lines of the shape,
so equal in every job of it). Never reused: a shape with a +, ++ or ~ override, a dict value (which OmegaConf merges
into what is there, so the order of overrides would count, on a group's key too), a sweep value, or two value keys
where one is or holds the other. Hydra has no public API for this step; the two helpers used are pinned by
hydra-core 1.3.8, and tests/test_compose_jobs.py compares jobs of every kind with Hydra's own composition of them.
"""

import copy
import weakref
from typing import Any, Callable, Dict, List, Set, Tuple

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from omegaconf import DictConfig

Shape = Tuple[Tuple[str, ...], Tuple[str, ...]]  # (the job's other override lines, the keys its plain values set)
# each config loader's composed jobs, as (the multirun's overrides, the job's): gone with the loader
_composed: "weakref.WeakKeyDictionary[Any, Set[Tuple[Tuple[str, ...], Tuple[str, ...]]]]" = weakref.WeakKeyDictionary()


def _key(master: DictConfig, job: List[str]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    return tuple(master.hydra.overrides.task), tuple(job)


def known(loader: Any, master: DictConfig, job: List[str]) -> bool:
    """Whether this process composed `job` of this multirun already (sweep's plan did, before the sweeper's check)."""
    return _key(master, job) in _composed.get(loader, ())


def _plain(override: Override, groups: Set[str]) -> bool:
    """A value set on an existing key, `key=value`: not a group; a number, string, bool, null or list (which OmegaConf's
    merge replaces whole), never a dict (which it merges into what is there, so the order of overrides would count)."""
    key = override.key_or_group
    return (
        override.type == OverrideType.CHANGE
        and override.package is None
        and not override.is_hydra_override()
        and "/" not in key
        and key not in groups
        and not override.is_sweep_override()  # left to Hydra, whose message for it is its own
        and not isinstance(override.value(), dict)
    )


def _choice(override: Override, groups: Set[str]) -> bool:
    """An override that only picks defaults (a config group's option) or sets Hydra's own node: order-free.

    A dict on a group's key is no choice: Hydra merges it into the config, in order with the values."""
    key = override.key_or_group
    return override.is_hydra_override() or (
        override.type == OverrideType.CHANGE
        and (key in groups or override.package is not None)
        and not isinstance(override.value(), dict)
    )


class Composer:
    """Job configs of one multirun: `composer(job)` equals `loader.load_sweep_config(master, job)`."""

    def __init__(self, loader: Any, master: DictConfig) -> None:
        self.loader, self.master = loader, master
        self.parser = OverridesParser.create(config_loader=loader)
        self.groups: Set[str] = set()  # the config groups of every job composed so far
        self.first: Dict[Shape, DictConfig] = {}  # the job Hydra composed, for each shape

    def _split(self, parsed: List[Override]) -> Tuple[Shape, List[Override]]:
        """The job's shape, and its plain values (by the groups known so far)."""
        values = [o for o in parsed if _plain(o, self.groups)]
        others = tuple(o.input_line for o in parsed if not _plain(o, self.groups))
        return (others, tuple(o.key_or_group for o in values)), values

    def __call__(self, job: List[str]) -> DictConfig:
        parsed = self.parser.parse_overrides(list(job))
        shape, values = self._split(parsed)
        composed = _with_values(self.first[shape], parsed, values) if shape in self.first else self._new(job, parsed)
        _composed.setdefault(self.loader, set()).add(_key(self.master, list(job)))
        return composed

    def _new(self, job: List[str], parsed: List[Override]) -> DictConfig:
        """Hydra's own composition of a job of a new shape, kept for the later jobs of that shape where it may be."""
        composed = self.loader.load_sweep_config(self.master, list(job))
        groups = set(composed.hydra.runtime.choices)
        self.groups |= groups
        shape, values = self._split(parsed)
        others = [o for o in parsed if o not in values]
        # reusable when no value's key is another's or inside it, and the other overrides only pick options (their
        # order is free); `groups` is this job's own, `self.groups` every job's so far (a value on either: not reused)
        if _apart(shape[1]) and all(_choice(o, groups) for o in others):
            self.first[shape] = copy.deepcopy(composed)  # kept apart from what the caller may change
        return composed


def _apart(keys: Tuple[str, ...]) -> bool:
    """No key twice, and none inside another (`a` and `a.b`): then the values' order cannot count."""
    return len(set(keys)) == len(keys) and not any(b.startswith(a + ".") for a in keys for b in keys)


def _with_values(known: DictConfig, parsed: List[Override], values: List[Override]) -> DictConfig:
    """A copy of a composed job with another job's plain values applied, and Hydra's record of that job's overrides."""
    composed = copy.deepcopy(known)
    ConfigLoaderImpl._apply_overrides_to_config(values, composed)
    task = [o for o in parsed if not o.is_hydra_override()]
    naming = composed.hydra.job.config.override_dirname
    composed.hydra.overrides.task = [o.input_line for o in task]
    composed.hydra.job.override_dirname = get_overrides_dirname(
        overrides=task, kv_sep=naming.kv_sep, item_sep=naming.item_sep, exclude_keys=naming.exclude_keys
    )
    return composed


def composer(loader: Any, master: DictConfig) -> Callable[[List[str]], DictConfig]:
    """Compose jobs of a multirun: a Composer for Hydra's own loader; any other composes each job itself."""
    if isinstance(loader, ConfigLoaderImpl):
        return Composer(loader, master)
    return lambda job: loader.load_sweep_config(master, list(job))
