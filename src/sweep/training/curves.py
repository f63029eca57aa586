"""A job's learning-curve figures, as the study drew them (accuracy and loss, train vs validation)."""

from typing import Dict, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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
