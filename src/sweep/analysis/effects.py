"""What each factor does: each level against its baseline (the others held fixed), ANOVA, and what n does not allow."""

from itertools import combinations
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from sweep.analysis.stats import NO_CLAIM, aggregate, samples, welch

NO_EFFECT = "no measurable effect"
COLUMNS = ["factor", "level", "baseline", "at", "n", "n_baseline", "diff", "ci_low", "ci_high", "verdict"]


def _compare(mine: np.ndarray, base: Optional[np.ndarray], missing: str) -> tuple:
    """(n_baseline, diff, ci_low, ci_high, verdict) of one level against its baseline's runs."""
    if base is None:
        return 0, np.nan, np.nan, np.nan, missing
    test = welch(mine, base)
    if test is None:
        return len(base), np.nan, np.nan, np.nan, NO_CLAIM
    diff, _, low, high = test
    return len(base), diff, low, high, _verdict(low, high)


def effects(runs: pd.DataFrame, factors: Sequence[str], baseline: Mapping[str, str]) -> pd.DataFrame:
    """Each level of each factor vs its baseline level, every other factor held fixed: difference of means, 95% Welch
    CI, verdict. `at` names the levels held fixed (the factors' own columns hold them too, and the tested level);
    factors with a single level here, or without a baseline level, are skipped."""
    own, rows, cells = samples(runs, factors), [], aggregate(runs, factors)
    for factor in (f for f in factors if f in baseline and cells[f].nunique() > 1):
        for cell in cells[list(factors)].to_dict("records"):
            if cell[factor] == baseline[factor]:
                continue
            base = own.get(tuple(baseline[factor] if f == factor else cell[f] for f in factors))
            mine = own[tuple(cell[f] for f in factors)]
            at = " ".join(f"{f}={cell[f]}" for f in factors if f != factor) or "—"
            found = _compare(mine, base, f"no {factor}={baseline[factor]} cell")
            values = (factor, cell[factor], baseline[factor], at, len(mine), *found)
            rows.append({**cell, **dict(zip(COLUMNS, values, strict=True))})
    return pd.DataFrame(rows, columns=[*COLUMNS, *factors])


def _verdict(low: float, high: float) -> str:
    if low <= 0 <= high:
        return NO_EFFECT
    return "raises test accuracy" if low > 0 else "lowers test accuracy"


def _terms(g: pd.DataFrame, varied: List[str]) -> Tuple[List[str], List[str]]:
    """Main effects of every varied factor; two-way interactions of the pairs whose every combination ran."""
    present = {tuple(r) for r in g[varied].drop_duplicates().itertuples(index=False)}
    pairs = []
    for a, b in combinations(range(len(varied)), 2):
        combos = {(r[a], r[b]) for r in present}
        if len(combos) == g[varied[a]].nunique() * g[varied[b]].nunique():
            pairs.append((a, b))
    mains = [f"C(f{i})" for i in range(len(varied))]
    return mains, [f"C(f{a}):C(f{b})" for a, b in pairs]


def anova(runs: pd.DataFrame, factors: Sequence[str]) -> Tuple[Optional[pd.DataFrame], str]:
    """A type-II ANOVA of test accuracy on every factor with two levels or more (and the two-way interactions the
    cells allow), or why not."""
    cells = aggregate(runs, factors)
    varied = [f for f in factors if cells[f].nunique() > 1]
    if cells.empty or not varied:
        return None, "not run: a single cell"
    if cells["n"].min() < 2:
        return None, "no claim can be made: some cells have a single run (n = 1)"
    if (cells["std"].fillna(0) == 0).all():
        return None, "not run: within every cell the runs are identical (no within-cell variance)"
    g = runs.dropna(subset=["test_accuracy"]).astype({"test_accuracy": float})
    g = g.assign(**{f"f{i}": g[f].astype(str) for i, f in enumerate(varied)})
    mains, pairs = _terms(g, varied)
    fit = smf.ols("test_accuracy ~ " + " + ".join(mains + pairs), data=g).fit()
    if fit.df_resid < 1:
        return None, "not run: the cells leave no residual degrees of freedom"
    names = {f"C(f{i})": f for i, f in enumerate(varied)}
    names.update({p: " x ".join(names[t] for t in p.split(":")) for p in pairs})
    table = anova_lm(fit, typ=2).rename(index={**names, "Residual": "residual"}, columns={"PR(>F)": "p"})
    skipped = len(list(combinations(varied, 2))) - len(pairs)
    note = f"ANOVA (type II) of test accuracy on {len(g)} runs: {', '.join(varied)}"
    note += f"; interactions of pairs with every combination run ({skipped} pair(s) lack some)" if skipped else ""
    return table, note


def caveats(runs: pd.DataFrame, factors: Sequence[str]) -> List[str]:
    """Plain statements of what the sample sizes do not allow."""
    cells = aggregate(runs, factors)
    single = cells[cells["n"] < 2]
    if cells.empty:
        return ["No finished runs: nothing to compare."]
    if len(single) == len(cells):
        return [
            "Every cell has a single run (n = 1): no claim can be made about which differences are real. "
            "Add seeds, e.g. 'train.seed=range(5)'."
        ]
    if not single.empty:
        names = ", ".join(" ".join(f"{f}={r[f]}" for f in factors) for r in single.to_dict("records"))
        return [f"Cells with a single run (n = 1) are not tested, and no claim can be made about them: {names}."]
    return []
