"""One sweep override of the search space as an Optuna distribution, and values as override text (see space.py)."""

import math
from typing import Any, Dict, Tuple

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


def distribution(key: str, override: Override, config: DictConfig) -> Tuple[BaseDistribution, Dict[Any, str]]:
    """The distribution of one sweep override, and for a categorical one each choice's override text."""
    value = override.value()
    if isinstance(value, IntervalSweep):
        current = OmegaConf.select(config, key, default=None)
        return _interval(key, value, isinstance(current, int) and not isinstance(current, bool)), {}
    if isinstance(value, RangeSweep) and not value.shuffle:
        return _range(key, value), {}
    choices = list(override.sweep_iterator(transformer=Transformer.identity))  # choice, glob, shuffle(range)
    if not choices:
        raise ValueError(f"{key}: {override.get_value_element_as_str()} offers nothing to choose")
    texts = {_choice(v): Transformer.encode(v) if isinstance(v, (list, dict)) else plain(v) for v in choices}
    return CategoricalDistribution(list(texts)), texts


def _interval(key: str, sweep: IntervalSweep, int_key: bool) -> BaseDistribution:
    low, high, log = sweep.start, sweep.end, "log" in sweep.tags
    shown = f"tag(log, interval({low:g}, {high:g}))" if log else f"interval({low:g}, {high:g})"
    if not low < high:
        raise ValueError(f"{key}: {shown} is empty; its low end must be below its high end")
    if log and low <= 0:
        raise ValueError(f"{key}: {shown} draws on a log scale, so both ends must be > 0")
    if "int" in sweep.tags or int_key:
        low, high = math.ceil(low), math.floor(high)
        if low > high:
            raise ValueError(f"{key}: {shown} holds no integer")
        return IntDistribution(low, high, log=log)
    return FloatDistribution(low, high, log=log)


def _range(key: str, sweep: RangeSweep) -> BaseDistribution:
    start, stop, step = sweep.start, sweep.stop, sweep.step
    if (stop - start) * step < 0 or step == 0:
        raise ValueError(f"{key}: range({start}, {stop}, {step}) is empty")
    low, high = min(start, stop), max(start, stop)
    if any(isinstance(v, float) for v in (start, stop, step)):
        return FloatDistribution(float(low), float(high), step=abs(float(step)))
    return IntDistribution(int(low), int(high), step=abs(int(step)))


def _choice(value: Any) -> Any:
    """A choice as Optuna stores it: lists and dicts as their override text, anything else as it is."""
    return Transformer.encode(value) if isinstance(value, (list, dict)) else value


def plain(value: Any) -> str:
    """A value as override text that Hydra reads back unchanged."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if not isinstance(value, str):
        return str(value)
    text = value if _reads(value) == value else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if _reads(text) != value:
        raise ValueError(f"cannot write the choice {value!r} as an override")
    return text


def _reads(text: str) -> Any:
    """What Hydra reads from `key=<text>` (None where the grammar refuses it)."""
    try:
        return OverridesParser.create().parse_override(f"k={text}").value()
    except Exception:  # noqa: BLE001 - any text the grammar refuses
        return None
