"""A sweep's design as compare sees it: its runs (one row per job, a column per factor), factors, baselines, view.

The factors are the swept keys but the seed (sweep.config.cells), read from the parent run's record; for older
sweeps, from the keys whose values differ across the cells' names. Runs are grouped into cells by these factors
only: nothing else differs within a sweep, and where it does (cell_hash tells), the cells are kept apart.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import pandas as pd

from sweep.analysis.fixed import fixed_settings
from sweep.config import cells

RUN_COLUMNS = ["cell", "cell_key", "config_hash", "sweep_id", "run", "seed", "status", "reason"]
METRICS = ["train_accuracy", "test_accuracy", "best_epoch"]


@dataclass
class Design:
    """The factors of a sweep, each one's baseline level, the settings it held fixed, and the table's pivot."""

    factors: List[str]
    baseline: Dict[str, str] = field(default_factory=dict)
    fixed: Dict[str, str] = field(default_factory=dict)
    rows: str = "reg"
    cols: Optional[str] = "act"
    pages: List[str] = field(default_factory=list)  # every other factor: one table per combination of its levels

    @property
    def keys(self) -> List[str]:
        """The columns that tell cells apart in tables and statistics: the factors, and the pivot's rows and columns
        (reg and act show even where they were not swept; a key held fixed adds no cell)."""
        return list(dict.fromkeys([*self.factors, self.rows, *([self.cols] if self.cols else [])]))


def select(jobs: pd.DataFrame, sweep_id: str, planned: List[dict]) -> pd.DataFrame:
    """One row per job of the sweep: its latest FINISHED run from any invocation, else its latest run here.

    With a plan, a job is its config hash, so a resumed sweep counts the jobs that an earlier invocation finished;
    planned jobs without any run are MISSING. Without a plan (other sweepers), the sweep's own runs are its jobs.
    """
    if planned:
        hashes = {c["config_hash"] for c in planned}
        jobs = jobs[jobs["config_hash"].isin(hashes) & (jobs["status"].eq("FINISHED") | jobs["sweep_id"].eq(sweep_id))]
    else:
        jobs = jobs[jobs["sweep_id"].eq(sweep_id)]
    ranked = jobs.assign(_done=jobs["status"].eq("FINISHED")).sort_values(["_done", "start_time"], ascending=False)
    found = ranked.drop_duplicates(subset="config_hash").drop(columns="_done")
    if not planned:
        return found.reset_index(drop=True)
    plan = pd.DataFrame(planned).reindex(columns=["cell", "run", "cell_hash", "config_hash"])
    plan["run"] = plan["run"].fillna(plan["cell"])  # plans logged before cells and runs had their own names
    table = plan.merge(found.drop(columns=["cell", "run", "cell_hash"]), on="config_hash", how="left")
    table.loc[table["status"].isna(), "status"] = "MISSING"
    return table


def _cell_of(name: str) -> str:
    """A cell's name from a run's tag, which before cells had their own names carried the seed."""
    return cells.name({k: v for k, v in cells.parse(str(name)).items() if k != cells.SEED})


def with_factors(runs: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """The runs with their cell names, a cell key, and a column per factor (plus reg and act) from the names."""
    runs = runs.assign(cell=runs["cell"].map(_cell_of))
    keys = runs["cell_hash"] if "cell_hash" in runs else pd.Series(index=runs.index, dtype=object)
    runs = runs.assign(cell_key=keys.fillna(runs["cell"]))
    parsed = runs["cell"].map(cells.parse)
    for key in dict.fromkeys([*cells.ALWAYS_NAMED, *factors]):
        from_params = runs[f"params.{key}"] if f"params.{key}" in runs else None
        values = parsed.map(lambda p, k=key: p.get(k))
        runs[key] = values.fillna(from_params) if from_params is not None else values
    columns = [*RUN_COLUMNS, *dict.fromkeys([*factors, *cells.ALWAYS_NAMED]), *METRICS, "run_id", "start_time"]
    return runs.reindex(columns=columns + [c for c in runs.columns if c.startswith("params.")])


def factors_of(recorded: Optional[dict], names: Sequence[str]) -> List[str]:
    """The sweep's factors: as its parent recorded them, else the keys whose values differ across cell names."""
    if recorded is not None:
        return list(recorded["factors"])
    parsed = [cells.parse(_cell_of(n)) for n in names]
    keys = dict.fromkeys(k for p in parsed for k in p)
    return [k for k in keys if len({p.get(k) for p in parsed}) > 1]


def kept_apart(runs: pd.DataFrame, factors: List[str]) -> List[str]:
    """The factors, with `cell_key` added when runs with the same factor values differ in something else."""
    groups = runs.groupby([*factors] or (lambda _: 0), dropna=False)["cell_key"].nunique()
    return factors + ["cell_key"] if (groups > 1).any() else factors


def view(factors: Sequence[str], rows: Optional[str] = None, cols: Optional[str] = None) -> Dict[str, object]:
    """The pivot: rows reg (or the first other factor), columns act (or the next), a table per level of the rest.

    Without factors (one cell) it is the study's reg x act; reg and act may be chosen even where held fixed.
    """
    study = not factors
    if rows is None:
        prefer = (["reg"] if "reg" in factors or study else [f for f in factors if f != "act"]) + ["reg", "act"]
        rows = next(f for f in prefer if f != cols)
    if cols is None:
        prefer = (["act"] if "act" in factors or study else []) + list(factors)
        cols = next((f for f in prefer if f != rows), None)
    return {"rows": rows, "cols": cols, "pages": [f for f in factors if f not in (rows, cols)]}


def build(jobs: pd.DataFrame, sweep_id: str, planned: List[dict], recorded: Optional[dict]) -> tuple:
    """The sweep's runs (one row per job, a column per factor) and its Design, pivoted as `view` chooses."""
    runs = select(jobs, sweep_id, planned)
    factors = factors_of(recorded, [c["cell"] for c in planned] or list(runs["cell"]))
    runs = with_factors(runs, factors)
    factors = kept_apart(runs, factors)
    baseline = dict((recorded or {}).get("baseline") or {})
    missing = [f for f in factors if f not in baseline and f != "cell_key"]
    baseline.update(cells.defaults(missing) if missing else {})  # sweeps that did not record their baselines
    fixed = fixed_settings(runs, factors)
    shown = runs[[c for c in runs.columns if not c.startswith("params.")]]
    return shown, Design(factors, baseline, fixed, **view(factors))
