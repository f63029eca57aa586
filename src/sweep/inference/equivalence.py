"""Practical equivalence of two samples: two one-sided tests (TOST) within a margin."""

import warnings

import numpy as np
from statsmodels.stats.weightstats import ttost_ind


def equivalent(a: np.ndarray, b: np.ndarray, epsilon: float, alpha: float) -> bool:
    """Whether mean(a) - mean(b) lies within (-epsilon, epsilon) by Welch's TOST at level alpha.

    Identical samples (the same value at every seed, e.g. a regularizer that changes no gradient) are equivalent:
    their difference is exactly zero, which no t statistic can express.
    """
    if len(a) == len(b) and np.array_equal(a, b):
        return True
    if epsilon <= 0 or len(a) < 2 or len(b) < 2:
        return False
    with warnings.catch_warnings():  # constant samples: statsmodels warns and returns NaN, which is "not shown"
        warnings.simplefilter("ignore", RuntimeWarning)
        p = ttost_ind(np.asarray(a, float), np.asarray(b, float), -epsilon, epsilon, usevar="unequal")[0]
    return bool(p < alpha)
