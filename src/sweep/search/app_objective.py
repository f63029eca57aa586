"""A search's objective in any app: what hydra.sweeper.metric and hydra.sweeper.direction mean there.

As in Hydra's Optuna sweeper, the objective is the task's return value and the direction defaults to minimize; a
mapping's key is named by hydra.sweeper.metric (known metrics such as val_accuracy keep their natural direction).
"""

from typing import Any, List, Optional

from sweep.search.options import METRICS, Objective


def _names(value: Any) -> Optional[List[str]]:
    if value is None:
        return None
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def objective(metric: Any, direction: Any) -> Objective:
    """The checked objective of an app's search; ValueError names the key."""
    names, directions = _names(metric), _names(direction)
    n = len(names) if names else len(directions) if directions else 1
    if names is not None and (not names or any(not m for m in names)):
        raise ValueError(f"hydra.sweeper.metric: null, a key of the task's result, or a list of keys; got {metric!r}")
    if directions is None:
        directions = [METRICS.get(m, ("minimize",))[0] for m in names] if names else ["minimize"] * n
    directions = [d.lower() for d in directions]
    if len(directions) != n or not set(directions) <= {"maximize", "minimize"}:
        raise ValueError(
            f"hydra.sweeper.direction: minimize or maximize, or a list of them, one per objective ({n}); "
            f"got {direction!r}"
        )
    labels = names or (["value"] if n == 1 else [f"value_{i}" for i in range(n)])
    return Objective(labels, directions, keyed=names is not None)
