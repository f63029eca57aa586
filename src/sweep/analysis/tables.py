"""The study's reg x act tables as text, plus what the statistics say about them, for the console and Markdown."""

from typing import List

import pandas as pd

from sweep.analysis import effects, report, stats


def _column(cells: pd.DataFrame) -> pd.Series:
    """The table column of each cell: its activation, with the placement when a sweep has both."""
    if cells["reg_at"].nunique() <= 1:
        return cells["act"]
    return cells["act"] + " @" + cells["reg_at"]


def _columns(cells: pd.DataFrame) -> List[str]:
    acts = stats.order(cells["act"], stats.ACT_ORDER)
    if cells["reg_at"].nunique() <= 1:
        return acts
    return [f"{a} @{p}" for a in acts for p in stats.order(cells["reg_at"], stats.PLACEMENTS)]


def _text(group: pd.DataFrame, metric: str) -> str:
    done = group.loc[group["status"] == "FINISHED", metric].dropna().astype(float)
    gaps = sorted(set(group.loc[group["status"] != "FINISHED", "status"]))
    if done.empty:
        return ", ".join(gaps) or "—"
    text = f"{done.mean():.4f}" if len(done) == 1 else f"{done.mean():.4f} ± {done.std():.4f} (n={len(done)})"
    return text + (f", {len(group) - len(done)} {'/'.join(gaps)}" if gaps else "")


def pivot(cells: pd.DataFrame, metric: str) -> pd.DataFrame:
    """reg x act text table of a metric: mean (± std and n over seeds); cells without a finished run show why."""
    frame = cells.assign(col=_column(cells))
    table = frame.groupby(["reg", "col"]).apply(lambda g: _text(g, metric), include_groups=False).unstack("col")
    table = table.reindex(index=stats.order(cells["reg"], stats.REG_ORDER), columns=_columns(cells))
    return table.fillna("—").rename_axis(index="reg", columns="act")


def numeric_pivot(cells: pd.DataFrame, metric: str) -> pd.DataFrame:
    """reg x act mean of a metric over finished runs; NaN where a cell has none."""
    frame = cells.assign(col=_column(cells))  # columns from every cell, so gaps cannot rename the finished ones
    done = frame[frame["status"] == "FINISHED"].astype({metric: float})
    table = done.pivot_table(index="reg", columns="col", values=metric, aggfunc="mean")
    return table.reindex(index=stats.order(cells["reg"], stats.REG_ORDER), columns=_columns(cells))


def finished(cells: pd.DataFrame) -> pd.DataFrame:
    """The finished runs in the shape the statistics take (one row per run)."""
    done = cells[cells["status"] == "FINISHED"]
    return done.astype({"train_accuracy": float, "test_accuracy": float, "best_epoch": float})


def render(cells: pd.DataFrame, sweep_id: str) -> str:
    """The two study tables, the effect of each regularizer versus none, caveats, and the cells that failed."""
    done = int((cells["status"] == "FINISHED").sum())
    parts = [f"# Sweep {sweep_id}: {done} of {len(cells)} cells finished", ""]
    for metric in ("test_accuracy", "train_accuracy"):
        title = metric.replace("_", " ").capitalize()
        parts += [
            f"## {title} (rows: reg, columns: act)",
            "",
            pivot(cells, metric).to_markdown(disable_numparse=True),
            "",
        ]
    runs = finished(cells)
    if not runs.empty and (runs["reg"] == "none").any() and (runs["reg"] != "none").any():
        shown = report.effects_table(effects.effects(runs))
        parts += [
            "## Does each regularizer help? (test accuracy vs none, same act and placement)",
            "",
            shown.to_markdown(index=False, disable_numparse=True),
            "",
            report.EFFECTS_NOTE,
            "",
        ]
    parts += [f"**Note:** {line}" for line in effects.caveats(runs)] if not runs.empty else []
    gaps = cells[cells["status"] != "FINISHED"]
    if not gaps.empty:
        parts += ["", "## Cells without a finished run", ""]
        parts += [
            f"- {row.cell}: {row.status}" + (f" ({row.reason})" if isinstance(row.reason, str) else "")
            for row in gaps.itertuples()
        ]
    return "\n".join(parts).rstrip()
