"""Statistics as display text: the ranked cells, the effects versus each baseline, and what they mean."""

from typing import List

import pandas as pd

from sweep.analysis.effects import COLUMNS

RANKED_NOTE = (
    "Every cell is compared with the best by Welch's t-test, Holm-corrected across those comparisons (α = 0.05). "
    "“indistinguishable” means these runs cannot tell the cell from the best, not that the two are equal."
)
EFFECTS_NOTE = (
    "Difference of mean test accuracy (level − baseline, the level the default config has) with the other factors "
    "held at the levels in `at`, with Welch's 95% CI, not corrected for multiple comparisons. "
    "“no measurable effect”: the CI covers 0."
)


def number(x, spec: str) -> str:
    return "—" if pd.isna(x) else format(x, spec)


def _ci(low, high, spec: str = ".4f") -> str:
    return "—" if pd.isna(low) else f"[{low:{spec}}, {high:{spec}}]"


def epoch(x) -> str:
    """A (mean) best epoch: a whole number as such (`12`, not `12.0`), a mean over seeds to one decimal."""
    return "—" if pd.isna(x) else f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def ranked_table(ranked: pd.DataFrame, factors: List[str]) -> pd.DataFrame:
    """The ranked cells as display text; without a second run anywhere, no columns of dashes."""
    table = pd.DataFrame(
        {
            "rank": ranked["rank"],
            **{f: ranked[f] for f in factors},
            "n": ranked["n"],
            "test acc": [f"{m:.4f} ± {number(s, '.4f')}" for m, s in zip(ranked["mean"], ranked["std"], strict=True)],
            "95% CI": [_ci(lo, hi) for lo, hi in zip(ranked["ci_low"], ranked["ci_high"], strict=True)],
            "train acc": ranked["train_mean"].map("{:.4f}".format),
            "gap": ranked["gap_mean"].map("{:+.4f}".format),
            "best epoch": ranked["best_epoch_mean"].map(epoch),
            "p (Holm)": ranked["p_holm"].map(lambda x: number(x, ".3g")),
            "vs best": ranked["vs_best"],
        }
    )
    if (ranked["n"] < 2).all():
        table = table.drop(columns=["95% CI", "p (Holm)", "vs best"]).assign(
            **{"test acc": ranked["mean"].map("{:.4f}".format)}
        )
    return table


def effects_table(effects: pd.DataFrame) -> pd.DataFrame:
    """The effects versus each factor's baseline as display text (the held levels in `at`)."""
    return (
        effects[COLUMNS]
        .assign(
            diff=effects["diff"].map(lambda x: number(x, "+.4f")),
            ci_low=[_ci(lo, hi, "+.4f") for lo, hi in zip(effects["ci_low"], effects["ci_high"], strict=True)],
        )
        .drop(columns="ci_high")
        .rename(columns={"n_baseline": "n (baseline)", "diff": "test acc − baseline", "ci_low": "95% CI"})
    )
