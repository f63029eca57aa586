"""Comparison heatmaps of the rows x cols pivot, a panel per page (a combination of the other factors' levels)."""

from itertools import product
from typing import Callable, List, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sweep.analysis.design import Design  # noqa: E402
from sweep.analysis.levels import label, on_page, order, pages  # noqa: E402

MARKS = {"best": "★ ", "indistinguishable": "≈ ", "indistinguishable (identical runs)": "≈ "}
ONE = ""  # the single column of a pivot without a column factor


def _accuracy_text(row: pd.Series) -> str:
    mark = MARKS.get(row.get("vs_best", ""), "")
    ci = "n = 1" if np.isnan(row["ci_low"]) else f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
    return f"{mark}{row['mean']:.4f}\n{ci}"


def _gap_text(row: pd.Series) -> str:
    return f"{row['gap_mean']:+.4f}\n(n = {row['n']})"


def _mean_text(row: pd.Series) -> str:
    return f"{row['mean']:.4f}" + (f"\n(n = {row['n']})" if row["n"] > 1 else "")


def keyed(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    """The frame with its row and column levels as text in `_r` and `_c`."""
    return frame.assign(_r=frame[design.rows].astype(str), _c=frame[design.cols].astype(str) if design.cols else ONE)


def axes_levels(design: Design, levels: pd.DataFrame) -> Tuple[List[str], List[str]]:
    cols = order(levels[design.cols], design.cols) if design.cols else [ONE]
    return order(levels[design.rows], design.rows), cols


def heatmaps(
    cells: pd.DataFrame,
    design: Design,
    levels: pd.DataFrame,
    value: str,
    text: Callable,
    title: str,
    cmap: str = "viridis",
) -> plt.Figure:
    """rows x cols heatmaps of one column of the cells, a panel per page, on one colour scale; `levels` (the runs,
    finished or not) says which rows and columns exist, so a cell without a finished run shows as missing."""
    rows, cols = axes_levels(design, levels)
    panels = pages(levels, design.pages)
    norm = matplotlib.colors.Normalize(np.nanmin(cells[value]), np.nanmax(cells[value]))
    size = (max(1.9 * len(cols) * len(panels) + 2.5, 6.5), 0.75 * len(rows) + 1.8)
    fig, axes = plt.subplots(1, len(panels), figsize=size, squeeze=False, sharey=True, layout="constrained")
    frame = keyed(cells, design)
    for ax, page in zip(axes[0], panels, strict=True):
        own = on_page(frame, page).set_index(["_r", "_c"])
        grid = own[value].unstack("_c").reindex(index=rows, columns=cols).to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
        ax.set_facecolor("0.85")
        ax.set_xticks(range(len(cols)), cols if design.cols else [""] * len(cols))
        ax.set_yticks(range(len(rows)), rows)
        ax.set(title=label(page), xlabel=design.cols or "")
        for (i, r), (j, c) in product(enumerate(rows), enumerate(cols)):
            found = (r, c) in own.index
            color = "0.3" if not found else "white" if norm(grid[i, j]) < 0.5 else "black"
            ax.text(
                j, i, text(own.loc[(r, c)]) if found else "missing", ha="center", va="center", fontsize=7.5, color=color
            )
    axes[0][0].set_ylabel(design.rows)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.9)
    fig.suptitle(title)
    return fig


def table_heatmap(cells: pd.DataFrame, design: Design, levels: pd.DataFrame, sweep_id: str) -> plt.Figure:
    """The console table's heatmap: mean test accuracy per cell (n when seeds were swept)."""
    return heatmaps(cells, design, levels, "mean", _mean_text, f"Test accuracy, sweep {sweep_id}")


def accuracy_heatmap(ranked: pd.DataFrame, design: Design, levels: pd.DataFrame) -> plt.Figure:
    """Mean test accuracy per cell, with its 95% CI where n > 1; ★ marks the best, ≈ those indistinguishable from it."""
    if ranked["ci_low"].notna().any():
        title = "Mean test accuracy [95% CI]   ★ best   ≈ indistinguishable from best"
    else:  # a single run per cell: no interval, no test
        title = "Test accuracy (n = 1: no CI)   ★ highest"
    return heatmaps(ranked, design, levels, "mean", _accuracy_text, title)


def gap_heatmap(cells: pd.DataFrame, design: Design, levels: pd.DataFrame) -> plt.Figure:
    """Mean generalization gap (train − test accuracy) per cell."""
    return heatmaps(
        cells, design, levels, "gap_mean", _gap_text, "Generalization gap: mean train − test accuracy", "magma"
    )
