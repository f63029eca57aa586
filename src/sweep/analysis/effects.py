"""What each factor does: effects versus the baseline level, ANOVA, and what the sample sizes do not allow."""

from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from sweep.analysis.stats import CELL, NO_CLAIM, PLACEMENTS, _clean, _samples, aggregate, order, welch

NO_EFFECT = "no measurable effect"
ANOVA_TERMS = {"C(act)": "activation", "C(reg)": "regularizer", "C(act):C(reg)": "activation x regularizer"}


def effects(runs: pd.DataFrame) -> pd.DataFrame:
    """Each regularizer vs `none` at the same activation and placement: difference of means, 95% Welch CI, verdict."""
    runs = _clean(runs)
    samples, rows = _samples(runs), []
    for reg_at, reg, act in aggregate(runs)[CELL].itertuples(index=False):
        if reg == "none":
            continue
        base, own = samples.get((reg_at, "none", act)), samples[(reg_at, reg, act)]
        test = welch(own, base) if base is not None else None
        diff, _, low, high = test or (np.nan,) * 4
        verdict = "no `none` cell" if base is None else NO_CLAIM if test is None else _verdict(low, high)
        rows.append((reg_at, act, reg, len(own), 0 if base is None else len(base), diff, low, high, verdict))
    return pd.DataFrame(rows, columns=["reg_at", "act", "reg", "n", "n_none", "diff", "ci_low", "ci_high", "verdict"])


def _verdict(low: float, high: float) -> str:
    if low <= 0 <= high:
        return NO_EFFECT
    return "raises test accuracy" if low > 0 else "lowers test accuracy"


def anova(runs: pd.DataFrame) -> Dict[str, Tuple[Optional[pd.DataFrame], str]]:
    """Per placement: a type-II ANOVA of test accuracy on activation, regularizer and their interaction, or why not."""
    runs, out = _clean(runs), {}
    for reg_at in order(runs["reg_at"], PLACEMENTS):
        g = runs[runs["reg_at"] == reg_at]
        cells = g.groupby(["reg", "act"])["test_accuracy"]
        regs, acts = g["reg"].nunique(), g["act"].nunique()
        terms = [t for t, k in (("C(act)", acts), ("C(reg)", regs)) if k > 1]
        if cells.size().min() < 2:
            out[reg_at] = None, "no claim can be made: some cells have a single run (n = 1)"
        elif cells.ngroups < regs * acts:
            out[reg_at] = None, f"not run: {regs * acts - cells.ngroups} of the reg x act cells have no runs"
        elif not terms:
            out[reg_at] = None, "not run: a single cell"
        elif (cells.nunique() == 1).all():
            out[reg_at] = None, "not run: within every cell the runs are identical (no within-cell variance)"
        else:
            table = anova_lm(smf.ols("test_accuracy ~ " + " * ".join(terms), data=g).fit(), typ=2)
            table = table.rename(index={**ANOVA_TERMS, "Residual": "residual"}, columns={"PR(>F)": "p"})
            kind = "two-way" if len(terms) == 2 else "one-way"
            out[reg_at] = table, f"{kind} ANOVA (type II) of test accuracy on {len(g)} runs"
    return out


def caveats(runs: pd.DataFrame) -> List[str]:
    """Plain statements of what the sample sizes do not allow."""
    cells = aggregate(runs)
    single = cells[cells["n"] < 2]
    if cells.empty:
        return ["No finished runs: nothing to compare."]
    if len(single) == len(cells):
        return [
            "Every cell has a single run (n = 1): no claim can be made about which differences are real. "
            "Add seeds, e.g. 'train.seed=range(5)'."
        ]
    if not single.empty:
        names = ", ".join(f"{r.reg}/{r.act}@{r.reg_at}" for r in single.itertuples())
        return [f"Cells with a single run (n = 1) are not tested, and no claim can be made about them: {names}."]
    return []
