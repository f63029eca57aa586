"""Which cells are best: per-cell aggregates with 95% CIs, Welch's test against the best with Holm correction.

A cell is one combination of the sweep's factors (its swept keys but the seed, sweep.config.cells); every function
takes the runs (one row each, a column per factor) and the factors' names.
"""

from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd
from scipy import stats

from sweep.analysis.levels import order
from sweep.inference.welch import ALPHA, IDENTICAL, NO_CLAIM, versus_best, welch  # noqa: F401 - compare's API

SUMMARY = ["n", "mean", "std", "ci_low", "ci_high", "train_mean", "gap_mean", "best_epoch_mean"]
ONE = "_cell"  # the single cell of a sweep without factors


def keyed(factors: Sequence[str]) -> List[str]:
    """The columns that tell cells apart (a constant one when nothing was swept)."""
    return list(factors) or [ONE]


def _clean(runs: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """Runs with a test accuracy, their factor values as text."""
    runs = runs.dropna(subset=["test_accuracy"]).astype({"test_accuracy": float, "train_accuracy": float})
    return runs.assign(**{f: runs[f].astype(str) for f in factors}, **({} if factors else {ONE: ""}))


def sort_cells(cells: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """Cells in the factors' display order (sweep.analysis.levels), the first factor slowest."""
    if not factors or cells.empty:
        return cells.reset_index(drop=True)
    ranks = {f: {v: i for i, v in enumerate(order(cells[f], f))} for f in factors}
    return cells.sort_values(list(factors), key=lambda col: col.map(ranks[col.name])).reset_index(drop=True)


def _ci(x: np.ndarray) -> Tuple[float, float]:
    """95% t interval of the mean; a point when every run is identical, undefined for one run."""
    if len(x) < 2:
        return np.nan, np.nan
    sem = stats.sem(x)
    return (x.mean(), x.mean()) if sem == 0 else stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sem)


def aggregate(runs: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """One row per cell: its factors, n, test accuracy mean/std/95% CI, mean train accuracy, gap, best epoch."""
    runs = _clean(runs, factors)
    runs = runs.assign(gap=runs["train_accuracy"] - runs["test_accuracy"], best_epoch=runs["best_epoch"].astype(float))
    cells = runs.groupby(keyed(factors), sort=False).agg(
        n=("test_accuracy", "size"),
        mean=("test_accuracy", "mean"),
        std=("test_accuracy", "std"),
        ci=("test_accuracy", lambda x: _ci(x.to_numpy())),
        train_mean=("train_accuracy", "mean"),
        gap_mean=("gap", "mean"),
        best_epoch_mean=("best_epoch", "mean"),
    )
    ci = pd.DataFrame(cells.pop("ci").tolist(), index=cells.index, columns=["ci_low", "ci_high"], dtype=float)
    cells = cells.join(ci).reset_index()
    return sort_cells(cells, factors)[[*factors, *SUMMARY]]


def samples(runs: pd.DataFrame, factors: Sequence[str]) -> Dict[tuple, np.ndarray]:
    """Each cell's test accuracies, by its tuple of factor values."""
    runs = _clean(runs, factors)
    return {
        key if isinstance(key, tuple) else (key,): g["test_accuracy"].to_numpy()
        for key, g in runs.groupby(keyed(factors), sort=False)
    }


def ranked(runs: pd.DataFrame, factors: Sequence[str], alpha: float = ALPHA) -> pd.DataFrame:
    """Cells by mean test accuracy, each Welch-tested against the best with Holm correction; `vs_best` says how."""
    # vs_best: best | indistinguishable | indistinguishable (identical runs) | worse | no claim (n = 1)
    cells = aggregate(runs, factors)
    cells = cells.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
    cells.insert(0, "rank", range(1, len(cells) + 1))
    cells["p_value"], cells["p_holm"], cells["vs_best"] = np.nan, np.nan, NO_CLAIM
    if cells.empty or cells.loc[0, "n"] < 2:
        return cells.assign(vs_best=["best", *[NO_CLAIM] * (len(cells) - 1)][: len(cells)])
    own = samples(runs, factors)
    keys = [tuple(cells.loc[i, factors]) if factors else ("",) for i in cells.index]
    tested = versus_best({k: own[k] for k in keys}, keys[0], alpha)
    cells.loc[0, "vs_best"] = "best"
    for i, key in enumerate(keys[1:], start=1):
        cells.loc[i, ["p_value", "p_holm", "vs_best"]] = tested[key]
    return cells
