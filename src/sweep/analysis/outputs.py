"""The files compare writes: the Markdown tables, the per-cell CSV, the heatmap, and the full --report."""

from pathlib import Path
from typing import List

import pandas as pd

from sweep.analysis import figures, query, report, tables


def write_tables(cells: pd.DataFrame, sweep_id: str, out: Path) -> List[Path]:
    """Write the Markdown tables, the per-cell CSV and the test-accuracy heatmap; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    md, csv, png = out / "accuracy.md", out / "accuracy.csv", out / "test_accuracy.png"
    md.write_text(tables.render(cells, sweep_id) + "\n")
    cells.drop(columns="start_time", errors="ignore").to_csv(csv, index=False)
    fig = figures.heatmap(tables.numeric_pivot(cells, "test_accuracy"), f"Test accuracy, sweep {sweep_id}")
    fig.savefig(png, dpi=120)
    figures.plt.close(fig)
    return [md, csv, png]


def write_full_report(cells: pd.DataFrame, sweep_id: str, out: Path) -> List[Path]:
    """The --report files: self-contained HTML, Markdown, CSVs and figures, with learning curves over seeds."""
    runs = tables.finished(cells)
    histories = query.histories(runs, ["accuracy", "val_accuracy"])
    return report.write(runs, histories, out, f"Sweep {sweep_id}")
