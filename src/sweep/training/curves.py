"""The study's learning-curve figures and the comparison heatmap."""

from typing import Dict, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def learning_curves(history: Mapping[str, Sequence[float]], title: str) -> Dict[str, plt.Figure]:
    """Two figures like the study's draw_learning_curve: accuracy and loss, train vs validation, per epoch."""
    figures = {}
    for metric, label in (("accuracy", "Accuracy"), ("loss", "Loss")):
        fig, ax = plt.subplots(figsize=(6, 4))
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], marker="o", label="train")
        ax.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        ax.set(title=f"Model {label.lower()}: {title}", xlabel="Epoch", ylabel=label)
        ax.legend(loc="best")
        fig.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.92)  # tight_layout draws it twice per job
        figures[metric] = fig
    return figures


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
