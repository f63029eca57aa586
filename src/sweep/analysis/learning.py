"""The report's learning curves: per page, small multiples (rows x cols), mean ± std over seeds."""

from itertools import product
from typing import List, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sweep.analysis.design import Design  # noqa: E402
from sweep.analysis.figures import axes_levels, keyed  # noqa: E402
from sweep.analysis.levels import label, on_page, pages  # noqa: E402


def learning_curves(histories: pd.DataFrame, design: Design) -> List[Tuple[str, plt.Figure]]:
    """Per page, small multiples (rows x cols): train and validation accuracy, mean ± std over seeds."""
    frame, (rows, cols) = keyed(histories, design), axes_levels(design, histories)
    figures = []
    for page in pages(histories, design.pages):
        own, name = on_page(frame, page), label(page)
        curves = own.groupby(["_r", "_c", "step"])[["accuracy", "val_accuracy"]].agg(["mean", "std"])
        seeds = own.groupby(["_r", "_c"])["seed"].nunique()
        fig, axes = plt.subplots(
            len(rows),
            len(cols),
            figsize=(max(2.6 * len(cols) + 0.6, 4.5), 1.9 * len(rows) + 1.4),
            squeeze=False,
            sharex=True,
            sharey=True,
            layout="constrained",
        )
        for (i, r), (j, c) in product(enumerate(rows), enumerate(cols)):
            ax = axes[i][j]
            if (r, c) not in seeds.index:
                ax.text(0.5, 0.5, "missing", ha="center", va="center", transform=ax.transAxes)
            else:
                _curve(ax, curves.loc[(r, c)])
                ax.set_title(_panel_title(design, r, c) + f" (n = {seeds[(r, c)]})", fontsize=8)
            ax.set(xlabel="epoch" if i == len(rows) - 1 else "", ylabel="accuracy" if j == 0 else "")
        _legend_on_top(fig, axes, f"Learning curves{', ' + name if name else ''}: mean ± std over seeds")
        figures.append((name, fig))
    return figures


def _panel_title(design: Design, row: str, col: str) -> str:
    return f"{row} / {col}" if design.cols else f"{design.rows}={row}"


def _legend_on_top(fig: plt.Figure, axes: np.ndarray, title: str) -> None:
    """The title, and under it one legend for every panel, above the first row of panels (where reading starts)."""
    handles, labels = next((ax.get_legend_handles_labels() for ax in axes.flat if ax.lines), ([], []))
    fig.legend(
        handles,
        labels,
        loc="outside upper left",
        ncols=2,
        title=title,
        alignment="left",
        frameon=False,
        title_fontproperties={"size": "large"},
    )


def _curve(ax: plt.Axes, frame: pd.DataFrame) -> None:
    for metric, shown in (("accuracy", "train"), ("val_accuracy", "validation")):
        mean, std = frame[(metric, "mean")], frame[(metric, "std")].fillna(0)
        (line,) = ax.plot(frame.index, mean, marker=".", label=shown)
        ax.fill_between(frame.index, mean - std, mean + std, color=line.get_color(), alpha=0.25, linewidth=0)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, min_n_ticks=1))
    ax.grid(alpha=0.3)
