"""The comparison report: one self-contained HTML file (figures inline), the same in Markdown, and CSV tables."""

import io
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pandas as pd

from sweep.analysis import effects as effect_stats
from sweep.analysis import figures, learning, render, stats
from sweep.analysis.design import Design
from sweep.analysis.display import EFFECTS_NOTE, RANKED_NOTE, effects_table, number, ranked_table
from sweep.config.cells import ALWAYS_NAMED

Block = render.Block


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    figures.plt.close(fig)
    return buf.getvalue()


def analyse(runs: pd.DataFrame, design: Design) -> Dict[str, object]:
    """Every statistic the report shows: ranked cells, effects versus the baselines, the ANOVA, caveats."""
    return dict(
        ranked=stats.ranked(runs, design.keys),
        effects=effect_stats.effects(runs, design.keys, design.baseline),
        anova=effect_stats.anova(runs, design.keys),
        caveats=effect_stats.caveats(runs, design.keys),
    )


def _claims(results: Dict[str, object]) -> List[Block]:
    """The effects and the ANOVA, or one line when no cell has a second run."""
    effects, (table, note) = results["effects"], results["anova"]
    if results["ranked"]["n"].max() < 2:
        return []  # the caveat at the top says in one line that no claim can be made
    out: List[Block] = [("h2", "Effect of each factor versus its baseline"), ("p", EFFECTS_NOTE)]
    out.append(("table", effects_table(effects)) if not effects.empty else ("p", "No factor has a baseline level."))
    out += [("h2", "Analysis of variance"), ("p", f"{note}.")]
    if table is not None:
        out.append(
            ("table", table.apply(lambda col: col.map(lambda x: number(x, ".4g"))).rename_axis("term").reset_index())
        )
    return out


def blocks(
    results: Dict[str, object], histories: Optional[pd.DataFrame], design: Design, levels: pd.DataFrame
) -> List[Block]:
    """The report's content, in order: ("h2" | "p" | "caveat", text), ("table", frame), ("img", (name, png))."""
    ranked = results["ranked"]
    out: List[Block] = [("caveat", c) for c in results["caveats"]]
    if ranked.empty:
        return out
    if design.fixed:
        out.append(("p", "Fixed: " + ", ".join(f"{k}={v}" for k, v in design.fixed.items())))
    accuracy = figures.accuracy_heatmap(ranked, design, levels)
    out += [("h2", "Mean test accuracy"), ("img", ("report_accuracy.png", _png(accuracy)))]
    out += [("h2", "Cells ranked by mean test accuracy")] + [("p", RANKED_NOTE)] * bool(ranked["n"].max() > 1)
    out += [("table", ranked_table(ranked, design.keys)), *_claims(results)]
    out += [
        ("h2", "Generalization gap"),
        ("img", ("report_gap.png", _png(figures.gap_heatmap(ranked, design, levels)))),
    ]
    out.append(("h2", "Learning curves"))
    if histories is None or histories.empty:
        return out + [("p", "No per-epoch histories were given.")]
    for name, fig in learning.learning_curves(histories, design):
        out.append(("img", (f"report_curves{'_' + name.replace('=', '_') if name else ''}.png", _png(fig))))
    return out


def cells_table(ranked: pd.DataFrame, runs: pd.DataFrame, design: Design) -> pd.DataFrame:
    """cells.csv: the ranked cells, with reg and act also where they were held fixed."""
    table = ranked.copy()
    for i, key in enumerate(k for k in ALWAYS_NAMED if k not in design.keys and k in runs):
        table.insert(1 + i, key, " / ".join(runs[key].dropna().astype(str).unique()))
    return table


def write(
    runs: pd.DataFrame,
    histories: Optional[pd.DataFrame],
    out_dir: Path,
    title: str,
    design: Design,
    levels=None,
    lead: Sequence[Block] = (),
) -> List[Path]:
    """Write report.html, report.md, its PNGs and cells.csv (one row per cell), the effects and ANOVA CSVs.

    `runs` are the finished runs; `levels` all of them (default: `runs`), so cells without a finished run show;
    `lead` blocks open the report (a race's rounds).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = analyse(runs, design)
    content = [*lead, *blocks(results, histories, design, runs if levels is None else levels)]
    files = [out / "report.html", out / "report.md", out / "cells.csv", out / "report_effects.csv"]
    files[0].write_text(render.to_html(title, content), encoding="utf-8")
    files[1].write_text(render.markdown(title, content), encoding="utf-8")
    cells_table(results["ranked"], runs, design).to_csv(files[2], index=False)
    results["effects"].to_csv(files[3], index=False)
    table = results["anova"][0]
    if table is not None:
        files.append(out / "report_anova.csv")
        table.rename_axis("term").reset_index().to_csv(files[-1], index=False)
    for kind, value in content:
        if kind == "img":
            files.append(out / value[0])
            files[-1].write_bytes(value[1])
    return files
