"""Which cells are best: per-cell aggregates with 95% CIs, Welch's test against the best with Holm correction."""

import warnings
from typing import Dict, Hashable, List, Mapping, Optional, Tuple

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

REG_ORDER = ["none", "dropout", "batchnorm", "l1", "l2", "dropout_batchnorm", "batchnorm_l2", "batchnorm_l1"]
ACT_ORDER = ["relu", "leaky_relu", "tanh", "sigmoid"]
PLACEMENTS = ["input", "hidden"]
CELL = ["reg_at", "reg", "act"]
COLUMNS = [*CELL, "n", "mean", "std", "ci_low", "ci_high", "train_mean", "gap_mean", "best_epoch_mean"]
ALPHA = 0.05
NO_CLAIM = "no claim (n = 1)"
IDENTICAL = "indistinguishable (identical runs)"


def order(values, preferred: List[str]) -> List[str]:
    """The values present, in the preferred order first, then the rest sorted."""
    present = set(values)
    return [v for v in preferred if v in present] + sorted(present - set(preferred))


def with_placement(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with reg_at everywhere: runs logged before placements existed count as reg_at=input."""
    return frame.assign(reg_at=frame["reg_at"].fillna("input") if "reg_at" in frame else "input")


def _clean(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs with a test accuracy, each with a placement."""
    return (
        with_placement(runs).dropna(subset=["test_accuracy"]).astype({"test_accuracy": float, "train_accuracy": float})
    )


def _sorted(cells: pd.DataFrame) -> pd.DataFrame:
    keys = {"reg_at": PLACEMENTS, "reg": REG_ORDER, "act": ACT_ORDER}
    ranks = {k: {v: i for i, v in enumerate(order(cells[k], pref))} for k, pref in keys.items()}
    return cells.sort_values(CELL, key=lambda col: col.map(ranks[col.name])).reset_index(drop=True)


def _ci(x: np.ndarray) -> Tuple[float, float]:
    """95% t interval of the mean; a point when every run is identical, undefined for one run."""
    if len(x) < 2:
        return np.nan, np.nan
    sem = stats.sem(x)
    return (x.mean(), x.mean()) if sem == 0 else stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sem)


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (reg_at, reg, act): n, test accuracy mean/std/95% CI, mean train accuracy, gap, best epoch."""
    runs = _clean(runs)
    runs = runs.assign(gap=runs["train_accuracy"] - runs["test_accuracy"], best_epoch=runs["best_epoch"].astype(float))
    cells = runs.groupby(CELL, sort=False).agg(
        n=("test_accuracy", "size"),
        mean=("test_accuracy", "mean"),
        std=("test_accuracy", "std"),
        ci=("test_accuracy", lambda x: _ci(x.to_numpy())),
        train_mean=("train_accuracy", "mean"),
        gap_mean=("gap", "mean"),
        best_epoch_mean=("best_epoch", "mean"),
    )
    ci = pd.DataFrame(cells.pop("ci").tolist(), index=cells.index, columns=["ci_low", "ci_high"], dtype=float)
    return _sorted(cells.join(ci).reset_index())[COLUMNS]


def welch(a: np.ndarray, b: np.ndarray) -> Optional[Tuple[float, float, float, float]]:
    """Welch's t-test of mean(a) - mean(b): (difference, p, 95% CI low, high); None when a side has one run."""
    if len(a) < 2 or len(b) < 2:
        return None
    with warnings.catch_warnings():  # nearly identical samples: scipy warns, the result is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
        ci = result.confidence_interval(0.95)
    return float(np.mean(a) - np.mean(b)), float(result.pvalue), float(ci.low), float(ci.high)


def _samples(runs: pd.DataFrame) -> Dict[tuple, np.ndarray]:
    return {key: g["test_accuracy"].to_numpy() for key, g in runs.groupby(CELL, sort=False)}


def _one_sided(test: Tuple[float, float, float, float]) -> float:
    """Welch's p that a is worse than b (mean(a) < mean(b)) from the two-sided test."""
    diff, p = test[0], test[1]
    return p / 2 if diff < 0 else 1 - p / 2


def versus_best(
    samples: Mapping[Hashable, np.ndarray], best: Hashable, alpha: float = ALPHA, one_sided: bool = False
) -> Dict[Hashable, Tuple[float, float, str]]:
    """Welch's test of every other sample against samples[best], Holm-corrected across them.

    Returns key -> (p, p_holm, verdict), verdict: worse | indistinguishable | indistinguishable (identical runs) |
    no claim (n = 1). one_sided tests only whether each is worse than the best.
    """
    tests = {k: welch(x, samples[best]) for k, x in samples.items() if k != best}
    out = {k: (np.nan, np.nan, NO_CLAIM) for k, t in tests.items() if t is None}
    # identical constant samples have no t statistic (p is NaN): they are indistinguishable, not tested
    out.update({k: (np.nan, np.nan, IDENTICAL) for k, t in tests.items() if t is not None and np.isnan(t[1])})
    family = {k: (_one_sided(t) if one_sided else t[1]) for k, t in tests.items() if k not in out}
    if family:
        reject, p_holm, _, _ = multipletests(list(family.values()), alpha=alpha, method="holm")
        verdicts = np.where(reject, "worse", "indistinguishable")
        out.update({k: (p, float(h), str(v)) for (k, p), h, v in zip(family.items(), p_holm, verdicts, strict=True)})
    return out


def ranked(runs: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Cells by mean test accuracy, each Welch-tested against the best with Holm correction; `vs_best` says how."""
    # vs_best: best | indistinguishable | indistinguishable (identical runs) | worse | no claim (n = 1)
    runs, cells = _clean(runs), aggregate(runs)
    cells = cells.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
    cells.insert(0, "rank", range(1, len(cells) + 1))
    cells["p_value"], cells["p_holm"], cells["vs_best"] = np.nan, np.nan, NO_CLAIM
    if cells.empty or cells.loc[0, "n"] < 2:
        return cells.assign(vs_best=["best", *[NO_CLAIM] * (len(cells) - 1)][: len(cells)])
    samples, keys = _samples(runs), [tuple(k) for k in cells[CELL].itertuples(index=False)]
    tested = versus_best({k: samples[k] for k in keys}, keys[0], alpha)
    cells.loc[0, "vs_best"] = "best"
    for i, key in enumerate(keys[1:], start=1):
        cells.loc[i, ["p_value", "p_holm", "vs_best"]] = tested[key]
    return cells
