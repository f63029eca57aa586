"""The sweep's tables as text (rows and columns two factors, a table per level of the others), for the console."""

from typing import List

import pandas as pd

from sweep.analysis import display, effects
from sweep.analysis.design import Design
from sweep.analysis.levels import label, on_page, order, pages


def _text(group: pd.DataFrame, metric: str) -> str:
    done = group.loc[group["status"] == "FINISHED", metric].dropna().astype(float)
    gaps = sorted(set(group.loc[group["status"] != "FINISHED", "status"]))
    if done.empty:
        return ", ".join(gaps) or "—"
    text = f"{done.mean():.4f}" if len(done) == 1 else f"{done.mean():.4f} ± {done.std():.4f} (n={len(done)})"
    return text + (f", {len(group) - len(done)} {'/'.join(gaps)}" if gaps else "")


def pivot(runs: pd.DataFrame, metric: str, rows: str, cols) -> pd.DataFrame:
    """rows x cols text table of a metric: mean (± std and n over seeds); cells without a finished run show why."""
    frame = runs.assign(**{k: runs[k].astype(str) for k in [rows, cols] if k})
    title = metric.replace("_", " ")
    if cols is None:
        table = frame.groupby(rows).apply(lambda g: _text(g, metric), include_groups=False).to_frame(title)
        return table.reindex(index=order(runs[rows], rows)).fillna("—").rename_axis(index=rows)
    table = frame.groupby([rows, cols]).apply(lambda g: _text(g, metric), include_groups=False).unstack(cols)
    table = table.reindex(index=order(runs[rows], rows), columns=order(runs[cols], cols))
    return table.fillna("—").rename_axis(index=rows, columns=cols)


def header(runs: pd.DataFrame, design: Design, sweep_id: str) -> List[str]:
    """The title (cells and runs counted apart, and how they ended) and the settings the sweep held fixed."""
    n_cells = runs.groupby(design.factors or (lambda _: 0), dropna=False).ngroups if len(runs) else 0
    counts = runs["status"].value_counts()
    done = int(counts.get("FINISHED", 0))
    state = (
        "all finished"
        if done == len(runs)
        else ", ".join([f"{done} finished", *(f"{n} {s.lower()}" for s, n in counts.items() if s != "FINISHED")])
    )
    lines = [f"# Sweep {sweep_id}: {n_cells} cells, {len(runs)} runs, {state}", ""]
    seeds = order(runs["seed"].dropna(), "train.seed")
    held = [f"{k}={v}" for k, v in design.fixed.items()] + [f"seeds {', '.join(seeds)}"] * bool(seeds)
    return lines + ([f"Fixed: {', '.join(held)}", ""] if held else [])


def render(runs: pd.DataFrame, design: Design, sweep_id: str) -> str:
    """The tables of test and train accuracy, each factor's effect versus its baseline, caveats, the gaps."""
    parts = header(runs, design, sweep_id)
    shape = f"rows: {design.rows}" + (f", columns: {design.cols}" if design.cols else "")
    for metric in ("test_accuracy", "train_accuracy"):
        for page in pages(runs, design.pages):
            own, name = on_page(runs, page), label(page)
            title = metric.replace("_", " ").capitalize() + (f", {name}" if name else "")
            table = pivot(own, metric, design.rows, design.cols).to_markdown(disable_numparse=True)
            parts += [f"## {title} ({shape})", "", table, ""]
    parts += _effects(finished(runs), design)
    gaps = runs[runs["status"] != "FINISHED"]
    if not gaps.empty:
        parts += ["", "## Cells without a finished run", ""]
        parts += [
            f"- {row.run}: {row.status}" + (f" ({row.reason})" if isinstance(row.reason, str) else "")
            for row in gaps.itertuples()
        ]
    return "\n".join(parts).rstrip()


def _effects(done: pd.DataFrame, design: Design) -> List[str]:
    if done.empty:
        return []
    notes = [f"**Note:** {line}" for line in effects.caveats(done, design.keys)]
    found = effects.effects(done, design.keys, design.baseline)
    if found.empty or found["n"].max() < 2 and found["n_baseline"].max() < 2:
        return notes  # n = 1 everywhere: the caveat says it in one line, no table of dashes
    title = "## Does each factor help? (test accuracy vs its baseline, the other factors held fixed)"
    table = display.effects_table(found).to_markdown(index=False, disable_numparse=True)
    return [title, "", table, "", display.EFFECTS_NOTE, "", *notes]


def finished(runs: pd.DataFrame) -> pd.DataFrame:
    """The finished runs in the shape the statistics take (one row per run)."""
    done = runs[runs["status"] == "FINISHED"]
    return done.astype({"train_accuracy": float, "test_accuracy": float, "best_epoch": float})
