"""This process's compiled training loops, reused by its later jobs of the same cells (another seed, a rerun).

Tracing a job's loop and XLA-compiling it costs every cell ~1.1-1.5 s of its first epoch, for a program that only
the cells' configs decide: a job whose cells are the same apart from `train.seed` (`key`: their cell hashes) takes
the loop an earlier job of this process compiled. Its nets take the new job's initial weights, BatchNormalization
statistics and Dropout seed states, each optimizer a fresh state (every variable copied from the job's own freshly
built nets), so the job computes exactly what a new loop would, with no trace and no compile.
"""

from collections import OrderedDict
from typing import Any, Hashable, Optional, Sequence

import keras

KEPT = 8  # loops held per process: a sweep's distinct programs a worker meets, without keeping every one alive
_loops: "OrderedDict[Hashable, Any]" = OrderedDict()


def _copy(into: Sequence[Any], values: Sequence[Any]) -> None:
    into, values = list(into), list(values)
    if [tuple(v.shape) for v in into] != [tuple(v.shape) for v in values]:
        raise RuntimeError("a reused training loop's variables do not match the job's nets")
    for target, value in zip(into, values, strict=True):
        target.assign(value)


def _load(loop_nets: Sequence[keras.Model], nets: Sequence[keras.Model]) -> None:
    """Give the loop's nets the state of `nets`: weights, statistics, seed states, and fresh optimizers."""
    for mine, fresh in zip(loop_nets, nets, strict=True):
        _copy(mine.variables, fresh.variables)
        fresh.optimizer.build(fresh.trainable_variables)  # zero slots, iteration 0, the job's learning rate
        _copy(mine.optimizer.variables, fresh.optimizer.variables)


def take(key: Hashable, nets: Sequence[keras.Model]) -> Optional[Any]:
    """The loop this process compiled for `key`, loaded with the state of `nets`; None if there is none."""
    loop = _loops.get(key)
    if loop is None:
        return None
    _loops.move_to_end(key)
    _load(loop.nets, nets)
    return loop


def keep(key: Hashable, loop: Any) -> Any:
    """Keep `loop` for later jobs of the same cells (the latest KEPT); return it."""
    _loops[key] = loop
    while len(_loops) > KEPT:
        _loops.popitem(last=False)
    return loop


def give_back(loop: Any, nets: Sequence[keras.Model]) -> None:
    """After training: the job's own nets take the trained weights of a reused loop's nets."""
    for mine, job_net in zip(loop.nets, nets, strict=True):
        if mine is not job_net:
            _copy(job_net.variables, mine.variables)


def clear() -> None:
    """Forget every loop (tests)."""
    _loops.clear()
