"""Comparison figures: the table's heatmap, the report's per-placement heatmaps (accuracy with CIs, gap), curves."""

from typing import Callable, List, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sweep.analysis.stats import ACT_ORDER, PLACEMENTS, REG_ORDER, order, with_placement  # noqa: E402

MARKS = {"best": "★ ", "indistinguishable": "≈ ", "indistinguishable (identical runs)": "≈ "}


def _accuracy_text(row: pd.Series) -> str:
    mark = MARKS.get(row.get("vs_best", ""), "")
    ci = "n = 1" if np.isnan(row["ci_low"]) else f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
    return f"{mark}{row['mean']:.4f}\n{ci}"


def _gap_text(row: pd.Series) -> str:
    return f"{row['gap_mean']:+.4f}\n(n = {row['n']})"


def heatmaps(cells: pd.DataFrame, value: str, text: Callable, title: str, cmap: str) -> plt.Figure:
    """reg x act heatmaps of one column, one panel per placement side by side, on one shared colour scale."""
    places = order(cells["reg_at"], PLACEMENTS)
    regs, acts = order(cells["reg"], REG_ORDER), order(cells["act"], ACT_ORDER)
    norm = matplotlib.colors.Normalize(np.nanmin(cells[value]), np.nanmax(cells[value]))
    size = (1.9 * len(acts) * len(places) + 2.5, 0.75 * len(regs) + 1.8)
    fig, axes = plt.subplots(1, len(places), figsize=size, squeeze=False, sharey=True, layout="constrained")
    for ax, place in zip(axes[0], places, strict=True):
        own = cells[cells["reg_at"] == place].set_index(["reg", "act"])
        grid = own[value].unstack("act").reindex(index=regs, columns=acts).to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
        ax.set_facecolor("0.85")
        ax.set_xticks(range(len(acts)), acts)
        ax.set_yticks(range(len(regs)), regs)
        ax.set(title=f"reg_at = {place}", xlabel="act")
        for i, reg in enumerate(regs):
            for j, act in enumerate(acts):
                found = (reg, act) in own.index
                label = text(own.loc[(reg, act)]) if found else "missing"
                color = "0.3" if not found else "white" if norm(grid[i, j]) < 0.5 else "black"
                ax.text(j, i, label, ha="center", va="center", fontsize=7.5, color=color)
    axes[0][0].set_ylabel("reg")
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.9)
    fig.suptitle(title)
    return fig


def accuracy_heatmap(ranked: pd.DataFrame) -> plt.Figure:
    """Mean test accuracy with its 95% CI per cell; ★ marks the best cell, ≈ those indistinguishable from it."""
    title = "Mean test accuracy [95% CI]   ★ best   ≈ indistinguishable from best"
    return heatmaps(ranked, "mean", _accuracy_text, title, "viridis")


def gap_heatmap(cells: pd.DataFrame) -> plt.Figure:
    """Mean generalization gap (train − test accuracy) per cell."""
    return heatmaps(cells, "gap_mean", _gap_text, "Generalization gap: mean train − test accuracy", "magma")


def learning_curves(histories: pd.DataFrame) -> List[Tuple[str, plt.Figure]]:
    """Per placement, small multiples (rows reg, columns act): train and validation accuracy, mean ± std over seeds."""
    figures, histories = [], with_placement(histories)
    curves = histories.groupby(["reg_at", "reg", "act", "step"])[["accuracy", "val_accuracy"]].agg(["mean", "std"])
    seeds = histories.groupby(["reg_at", "reg", "act"])["seed"].nunique()
    for place in order(histories["reg_at"], PLACEMENTS):
        own = histories[histories["reg_at"] == place]
        regs, acts = order(own["reg"], REG_ORDER), order(own["act"], ACT_ORDER)
        fig, axes = plt.subplots(
            len(regs),
            len(acts),
            figsize=(2.6 * len(acts) + 0.6, 1.9 * len(regs) + 1),
            squeeze=False,
            sharex=True,
            sharey=True,
            layout="constrained",
        )
        for (i, reg), (j, act) in ((r, a) for r in enumerate(regs) for a in enumerate(acts)):
            ax = axes[i][j]
            if (place, reg, act) not in seeds.index:
                ax.text(0.5, 0.5, "missing", ha="center", va="center", transform=ax.transAxes)
            else:
                _curve(ax, curves.loc[(place, reg, act)])
                ax.set_title(f"{reg} / {act} (n = {seeds[(place, reg, act)]})", fontsize=8)
            ax.set(xlabel="epoch" if i == len(regs) - 1 else "", ylabel="accuracy" if j == 0 else "")
        handles, labels = next(ax.get_legend_handles_labels() for ax in axes.flat if ax.lines)
        fig.legend(handles, labels, loc="outside lower center", ncols=2)
        fig.suptitle(f"Learning curves, reg_at = {place}: mean ± std over seeds", x=0.02, ha="left")
        figures.append((place, fig))
    return figures


def _curve(ax: plt.Axes, frame: pd.DataFrame) -> None:
    for metric, label in (("accuracy", "train"), ("val_accuracy", "validation")):
        mean, std = frame[(metric, "mean")], frame[(metric, "std")].fillna(0)
        (line,) = ax.plot(frame.index, mean, marker=".", label=label)
        ax.fill_between(frame.index, mean - std, mean + std, color=line.get_color(), alpha=0.25, linewidth=0)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def heatmap(table: pd.DataFrame, title: str) -> plt.Figure:
    """A reg x act heatmap of a value table, each cell annotated; empty cells shown as gaps."""
    fig, ax = plt.subplots(figsize=(1.6 * len(table.columns) + 2.5, 0.55 * len(table.index) + 1.8))
    values = table.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(table.columns)), table.columns)
    ax.set_yticks(range(len(table.index)), table.index)
    ax.set(xlabel=table.columns.name or "act", ylabel=table.index.name or "reg", title=title)
    for (i, j), value in np.ndenumerate(values):
        ax.text(
            j,
            i,
            "missing" if np.isnan(value) else f"{value:.4f}",
            ha="center",
            va="center",
            color="white" if np.isnan(value) or value < np.nanmean(values) else "black",
            fontsize=8,
        )
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig
