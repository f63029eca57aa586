"""A task's return value as a sweeper's objective: a number, a mapping (the key hydra.sweeper.metric names), or a
sequence of numbers, one per objective. A value of the wrong kind is the app's setup error (BadReturn), not a
failed trial: the sweeper stops with one line naming the key and what it expected."""

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf

EXPECTED = "return a number, a mapping with the key hydra.sweeper.metric names, or one number per objective"


class BadReturn(ValueError):
    """The task returned something no objective can be read from."""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BadReturn(f"{what} is {value!r} ({type(value).__name__}), not a number; {EXPECTED}")
    return float(value)


def plain(value: Any) -> Any:
    """An OmegaConf container as plain Python (a task may return part of its config)."""
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def values(value: Any, metrics: Optional[List[str]], n: int) -> List[float]:
    """The n objective values in what the task returned (NaN stays NaN: that trial fails, the search goes on)."""
    value = plain(value)
    if isinstance(value, Mapping):
        if not metrics:
            raise BadReturn(
                f"hydra.sweeper.metric: the task returned a mapping (keys: {', '.join(map(str, value)) or 'none'}); "
                "name the key to optimize with hydra.sweeper.metric"
            )
        missing = [m for m in metrics if m not in value]
        if missing:
            raise BadReturn(
                f"hydra.sweeper.metric={missing[0]}: the task's result has no such key; "
                f"it has: {', '.join(map(str, value)) or 'none'}"
            )
        return [_number(value[m], f"the task's {m!r}") for m in metrics]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if len(value) != n:
            raise BadReturn(
                f"hydra.sweeper.direction: the task returned {len(value)} values, the search has {n} objective(s) "
                f"({EXPECTED})"
            )
        return [_number(v, f"the task's value {i}") for i, v in enumerate(value)]
    if n != 1:
        raise BadReturn(f"hydra.sweeper.direction: {n} objectives, but the task returned one value {value!r}")
    return [_number(value, "the task's return value")]


def finite(found: List[float]) -> bool:
    """Whether every objective value is a finite number."""
    return all(math.isfinite(v) for v in found)


def named(value: Any, metric: Any = None) -> Dict[str, float]:
    """The numbers a task returned, by name."""
    value = plain(value)
    if isinstance(value, bool) or value is None:
        return {}
    if isinstance(value, numbers.Real):
        return {metric if isinstance(metric, str) else "value": float(value)}
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items() if isinstance(v, numbers.Real) and not isinstance(v, bool)}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return {f"value_{i}": float(v) for i, v in enumerate(value) if isinstance(v, numbers.Real)}
    return {}
