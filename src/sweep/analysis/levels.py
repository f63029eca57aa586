"""A factor's levels as shown: the study's own options in the study's order, others after them; pages of levels."""

from typing import Dict, Iterable, List, Sequence

import pandas as pd

# Display preferences only (any option is allowed): the study's tables list its options in this order.
PREFERRED = {
    "reg": ["none", "dropout", "batchnorm", "l1", "l2", "dropout_batchnorm", "batchnorm_l2", "batchnorm_l1"],
    "act": ["relu", "leaky_relu", "tanh", "sigmoid"],
    "model.reg_at": ["input", "hidden"],
}


def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def order(values: Iterable, key: str) -> List[str]:
    """The distinct values present: preferred ones first in their order, then the rest by number, else by name."""
    present = {str(v) for v in values if v == v and v is not None}  # v == v drops NaN
    preferred = [v for v in PREFERRED.get(key, []) if v in present]
    rest = present - set(preferred)
    numeric = all(_number(v) == _number(v) for v in rest)
    return preferred + sorted(rest, key=_number if numeric else str)


def pages(runs: pd.DataFrame, keys: Sequence[str]) -> List[Dict[str, str]]:
    """Each combination of the keys' levels that has runs, in display order ([{}] without keys): a table each."""
    if not keys or runs.empty:
        return [{}]
    seen = runs[list(keys)].astype(str).drop_duplicates()
    ranks = {k: {v: i for i, v in enumerate(order(seen[k], k))} for k in keys}
    seen = seen.sort_values(list(keys), key=lambda col: col.map(ranks[col.name]))
    return seen.to_dict("records")


def on_page(frame: pd.DataFrame, page: Dict[str, str]) -> pd.DataFrame:
    """The rows of `frame` at one page's levels."""
    mask = pd.Series(True, index=frame.index)
    for key, level in page.items():
        mask &= frame[key].astype(str) == level
    return frame[mask]


def label(page: Dict[str, str]) -> str:
    """A page's name, `model.reg_at=hidden` ('' for the single page of a sweep without page factors)."""
    return " ".join(f"{k}={v}" for k, v in page.items())
