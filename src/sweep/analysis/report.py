"""The comparison report: one self-contained HTML file (figures inline), the same in Markdown, and CSV tables."""

import io
from pathlib import Path
from typing import Dict, List, Optional

import pandas as pd

from sweep.analysis import effects as effect_stats
from sweep.analysis import figures, render, stats

RANKED_NOTE = (
    "Every cell is compared with the best by Welch's t-test, Holm-corrected across those comparisons (α = 0.05). "
    "“indistinguishable” means these runs cannot tell the cell from the best, not that the two are equal."
)
EFFECTS_NOTE = (
    "Difference of mean test accuracy (regularizer − none) at the same activation and placement, with Welch's 95% CI, "
    "not corrected for multiple comparisons. “no measurable effect”: the CI covers 0."
)
Block = render.Block


def _num(x, spec: str) -> str:
    return "—" if pd.isna(x) else format(x, spec)


def _ci(low, high, spec: str = ".4f") -> str:
    return "—" if pd.isna(low) else f"[{low:{spec}}, {high:{spec}}]"


def ranked_table(ranked: pd.DataFrame) -> pd.DataFrame:
    """The ranked cells as display text."""
    return pd.DataFrame(
        {
            "rank": ranked["rank"],
            "reg_at": ranked["reg_at"],
            "reg": ranked["reg"],
            "act": ranked["act"],
            "n": ranked["n"],
            "test acc": [f"{m:.4f} ± {_num(s, '.4f')}" for m, s in zip(ranked["mean"], ranked["std"], strict=True)],
            "95% CI": [_ci(lo, hi) for lo, hi in zip(ranked["ci_low"], ranked["ci_high"], strict=True)],
            "train acc": ranked["train_mean"].map("{:.4f}".format),
            "gap": ranked["gap_mean"].map("{:+.4f}".format),
            "best epoch": ranked["best_epoch_mean"].map(lambda x: _num(x, ".1f")),
            "p (Holm)": ranked["p_holm"].map(lambda x: _num(x, ".3g")),
            "vs best": ranked["vs_best"],
        }
    )


def effects_table(effects: pd.DataFrame) -> pd.DataFrame:
    """The effects versus none as display text."""
    return (
        effects.assign(
            diff=effects["diff"].map(lambda x: _num(x, "+.4f")),
            ci_low=[_ci(lo, hi, "+.4f") for lo, hi in zip(effects["ci_low"], effects["ci_high"], strict=True)],
        )
        .drop(columns="ci_high")
        .rename(columns={"n_none": "n (none)", "diff": "test acc − none", "ci_low": "95% CI"})
    )


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    figures.plt.close(fig)
    return buf.getvalue()


def analyse(runs: pd.DataFrame) -> Dict[str, object]:
    """Every statistic the report shows: ranked cells, effects versus none, ANOVA per placement, caveats."""
    return dict(
        ranked=stats.ranked(runs),
        effects=effect_stats.effects(runs),
        anova=effect_stats.anova(runs),
        caveats=effect_stats.caveats(runs),
    )


def blocks(results: Dict[str, object], histories: Optional[pd.DataFrame]) -> List[Block]:
    """The report's content, in order: ("h2" | "p" | "caveat", text), ("table", frame), ("img", (name, png))."""
    ranked, effects = results["ranked"], results["effects"]
    out: List[Block] = [("caveat", c) for c in results["caveats"]]
    if ranked.empty:
        return out
    out += [("h2", "Mean test accuracy"), ("img", ("report_accuracy.png", _png(figures.accuracy_heatmap(ranked))))]
    out += [("h2", "Cells ranked by mean test accuracy"), ("p", RANKED_NOTE), ("table", ranked_table(ranked))]
    out += [("h2", "Effect of each regularizer versus none"), ("p", EFFECTS_NOTE), ("table", effects_table(effects))]
    out.append(("h2", "Analysis of variance"))
    for place, (table, note) in results["anova"].items():
        out.append(("p", f"reg_at = {place}: {note}."))
        if table is not None:
            shown = table.apply(lambda col: col.map(lambda x: _num(x, ".4g"))).rename_axis("term").reset_index()
            out.append(("table", shown))
    out += [("h2", "Generalization gap"), ("img", ("report_gap.png", _png(figures.gap_heatmap(ranked))))]
    out.append(("h2", "Learning curves"))
    if histories is None or histories.empty:
        return out + [("p", "No per-epoch histories were given.")]
    for place, fig in figures.learning_curves(histories):
        out.append(("img", (f"report_curves_{place}.png", _png(fig))))
    return out


def write(runs: pd.DataFrame, histories: Optional[pd.DataFrame], out_dir: Path, title: str) -> List[Path]:
    """Write report.html, report.md, its PNGs and the cells/effects/ANOVA CSVs into out_dir; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = analyse(runs)
    content = blocks(results, histories)
    files = [out / "report.html", out / "report.md", out / "report_cells.csv", out / "report_effects.csv"]
    files[0].write_text(render.to_html(title, content), encoding="utf-8")
    files[1].write_text(render.markdown(title, content), encoding="utf-8")
    results["ranked"].to_csv(files[2], index=False)
    results["effects"].to_csv(files[3], index=False)
    anovas = [
        t.rename_axis("term").reset_index().assign(reg_at=p) for p, (t, _) in results["anova"].items() if t is not None
    ]
    if anovas:
        files.append(out / "report_anova.csv")
        pd.concat(anovas, ignore_index=True).to_csv(files[-1], index=False)
    for kind, value in content:
        if kind == "img":
            files.append(out / value[0])
            files[-1].write_bytes(value[1])
    return files
