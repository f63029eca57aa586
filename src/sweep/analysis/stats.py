"""Which cells are best: per-cell aggregates with 95% CIs, Welch's test against the best with Holm correction.

A cell is one combination of the sweep's factors (its swept keys but the seed, sweep.config.cells); every function
takes the runs (one row each, a column per factor) and the factors' names.
"""

import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from sweep.analysis.levels import order

SUMMARY = ["n", "mean", "std", "ci_low", "ci_high", "train_mean", "gap_mean", "best_epoch_mean"]
ALPHA = 0.05
NO_CLAIM = "no claim (n = 1)"
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


def welch(a: np.ndarray, b: np.ndarray) -> Optional[Tuple[float, float, float, float]]:
    """Welch's t-test of mean(a) - mean(b): (difference, p, 95% CI low, high); None when a side has one run."""
    if len(a) < 2 or len(b) < 2:
        return None
    with warnings.catch_warnings():  # nearly identical samples: scipy warns, the result is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
        ci = result.confidence_interval(0.95)
    return float(np.mean(a) - np.mean(b)), float(result.pvalue), float(ci.low), float(ci.high)


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
    key = (lambda i: tuple(cells.loc[i, factors])) if factors else (lambda i: ("",))
    tests = {i: welch(own[key(i)], own[key(0)]) for i in cells.index[1:]}
    tested = {i: t for i, t in tests.items() if t is not None}
    # identical constant samples have no t statistic (p is NaN): they are indistinguishable, not tested
    identical = [i for i, t in tested.items() if np.isnan(t[1])]
    family = [i for i in tested if i not in identical]
    cells.loc[0, "vs_best"] = "best"
    cells.loc[identical, "vs_best"] = "indistinguishable (identical runs)"
    if family:
        reject, p_holm, _, _ = multipletests([tested[i][1] for i in family], alpha=alpha, method="holm")
        cells.loc[family, "p_value"] = [tested[i][1] for i in family]
        cells.loc[family, "p_holm"] = p_holm
        cells.loc[family, "vs_best"] = np.where(reject, "worse", "indistinguishable")
    return cells
