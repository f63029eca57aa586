"""The files compare writes: the Markdown tables, the per-run CSV, the heatmap, and the full --report."""

from pathlib import Path
from typing import List

import pandas as pd

from sweep.analysis import figures, query, report, stats, tables
from sweep.analysis.design import Design


def write_tables(runs: pd.DataFrame, design: Design, sweep_id: str, out: Path) -> List[Path]:
    """Write the Markdown tables, the per-run CSV (a column per factor) and the test-accuracy heatmap."""
    out.mkdir(parents=True, exist_ok=True)
    md, csv, png = out / "accuracy.md", out / "accuracy.csv", out / "test_accuracy.png"
    md.write_text(tables.render(runs, design, sweep_id) + "\n")
    shown = runs.drop(columns="start_time").rename(columns={"cell_key": "cell_hash"})
    shown.astype({"best_epoch": "Int64"}).to_csv(csv, index=False)  # whole epochs, not 12.0
    done = tables.finished(runs)
    if not done.empty:
        fig = figures.table_heatmap(stats.aggregate(done, design.keys), design, runs, sweep_id)
        fig.savefig(png, dpi=120)
        figures.plt.close(fig)
        return [md, csv, png]
    return [md, csv]


def write_full_report(runs: pd.DataFrame, design: Design, sweep_id: str, out: Path, lead=()) -> List[Path]:
    """The --report files: self-contained HTML, Markdown, CSVs and figures, with learning curves over seeds.

    `lead`: report blocks that open it (a race's rounds, sweep.analysis.race_view).
    """
    done = tables.finished(runs)
    histories = query.histories(done, ["accuracy", "val_accuracy"], design.keys)
    return report.write(done, histories, out, f"Sweep {sweep_id}", design, levels=runs, lead=lead)
