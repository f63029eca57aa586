"""Welch's t-test of two samples, and of every cell against the best with Holm's correction (numpy, scipy only).

Shared by the race's verdict while it runs (sweep.race.verdict) and by compare's tables (sweep.analysis.stats).
"""

import warnings
from typing import Dict, Hashable, Mapping, Optional, Tuple

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

ALPHA = 0.05
NO_CLAIM = "no claim (n = 1)"
IDENTICAL = "indistinguishable (identical runs)"


def welch(a: np.ndarray, b: np.ndarray) -> Optional[Tuple[float, float, float, float]]:
    """Welch's t-test of mean(a) - mean(b): (difference, p, 95% CI low, high); None when a side has one run."""
    if len(a) < 2 or len(b) < 2:
        return None
    with warnings.catch_warnings():  # nearly identical samples: scipy warns, the result is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
        ci = result.confidence_interval(0.95)
    return float(np.mean(a) - np.mean(b)), float(result.pvalue), float(ci.low), float(ci.high)


def _one_sided(test: Tuple[float, float, float, float]) -> float:
    """Welch's p that a is worse than b (mean(a) < mean(b)) from the two-sided test."""
    diff, p = test[0], test[1]
    return p / 2 if diff < 0 else 1 - p / 2


def versus_best(
    by_cell: Mapping[Hashable, np.ndarray], best: Hashable, alpha: float = ALPHA, one_sided: bool = False
) -> Dict[Hashable, Tuple[float, float, str]]:
    """Welch's test of every other cell's sample against the best's, Holm-corrected across them.

    Returns key -> (p, p_holm, verdict), verdict: worse | indistinguishable | indistinguishable (identical runs) |
    no claim (n = 1). one_sided tests only whether each is worse than the best (hydra/sweeper=race).
    """
    tests = {k: welch(x, by_cell[best]) for k, x in by_cell.items() if k != best}
    out = {k: (np.nan, np.nan, NO_CLAIM) for k, t in tests.items() if t is None}
    # identical constant samples have no t statistic (p is NaN): they are indistinguishable, not tested
    out.update({k: (np.nan, np.nan, IDENTICAL) for k, t in tests.items() if t is not None and np.isnan(t[1])})
    family = {k: (_one_sided(t) if one_sided else t[1]) for k, t in tests.items() if k not in out}
    if family:
        reject, p_holm, _, _ = multipletests(list(family.values()), alpha=alpha, method="holm")
        verdicts = np.where(reject, "worse", "indistinguishable")
        out.update({k: (p, float(h), str(v)) for (k, p), h, v in zip(family.items(), p_holm, verdicts, strict=True)})
    return out
