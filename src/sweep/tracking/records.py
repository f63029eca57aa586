"""A sweeper's records on the sweep's parent run: tables as CSV, plans as JSON, tags."""

from typing import Mapping

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import RunTag


def log_table(uri: str, run_id: str, table: pd.DataFrame, path: str) -> None:
    """Write a table to the run as a CSV artifact at `path` (replacing an earlier one)."""
    MlflowClient(uri).log_text(run_id, table.to_csv(index=False), path)


def log_json(uri: str, run_id: str, data: dict, path: str) -> None:
    """Write a dict to the run as a JSON artifact at `path` (replacing an earlier one)."""
    MlflowClient(uri).log_dict(run_id, data, path)


def set_tags(uri: str, run_id: str, tags: Mapping[str, str]) -> None:
    """Set (or replace) tags of the run in one call."""
    MlflowClient(uri).log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
