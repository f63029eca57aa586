"""The settings a sweep held fixed, for compare's 'Fixed:' line: one value a key, or one a model where models vary."""

from typing import Dict, Optional, Sequence

import pandas as pd

from sweep.analysis.levels import order
from sweep.config.cells import SEED

MODEL = "model"
FIRST = ["data", "data.name", "data.path", "data.limit", "data.image_shape", "data.classes", "reg", "act"]
FIRST += ["train.epochs", "train.learning_rate", "model.hidden", "model.reg_at", "speed"]


def _held(values: pd.Series) -> Optional[str]:
    """The one value a column holds (None when it holds several, none, or only 'None')."""
    seen = set(values.dropna())
    return seen.pop() if len(seen) == 1 and seen != {"None"} else None


def _per_model(runs: pd.DataFrame, column: str) -> Optional[str]:
    """A model key held within each model that has it: its value, or each model's (mlp's keys are not cnn's)."""
    levels = order(runs[MODEL], MODEL)
    held = {}
    for level in levels:
        values = runs.loc[runs[MODEL].astype(str) == level, column]
        if values.notna().any():
            held[level] = _held(values)
            if held[level] is None:
                return None  # it varies within a model: not held fixed
    if len(held) == len(levels) and len(set(held.values())) == 1:
        return next(iter(held.values()))
    return " / ".join(f"{value} (model={level})" for level, value in held.items()) or None


def _rank(key: str, value: str, by_model: bool) -> tuple:
    """Where a key stands on the line: the usual order; a varied model's keys together, model by model."""
    if by_model and key.startswith(f"{MODEL}."):
        return FIRST.index("model.hidden"), value.partition("(model=")[2], key
    return (FIRST.index(key) if key in FIRST else len(FIRST)), "", key


def fixed_settings(runs: pd.DataFrame, factors: Sequence[str]) -> Dict[str, str]:
    """The settings every run of the sweep shared: data set, limit, epochs and the rest (not the seed).

    When the sweep varies the model, each model's own keys (model.hidden, model.filters, …) are held per model.
    """
    by_model = MODEL in factors and MODEL in runs
    skipped = {"retrain", SEED, "mlflow.experiment", *factors, *[f"{MODEL}.name"] * by_model}
    settled: Dict[str, str] = {}
    for column in (c for c in runs.columns if c.startswith("params.")):
        key = column[len("params.") :]
        if key in skipped or "." in key and key.partition(".")[0] in ("reg", "act", "speed"):
            continue  # an option's own keys (reg.dropout, …) are named by the option
        value = _per_model(runs, column) if by_model and key.startswith(f"{MODEL}.") else _held(runs[column])
        if value is not None:
            settled[key] = value
    if settled.get("data.name") == settled.get("data"):
        settled.pop("data.name", None)
    return {k: settled[k] for k in sorted(settled, key=lambda k: _rank(k, settled[k], by_model))}
