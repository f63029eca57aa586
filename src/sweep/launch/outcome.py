"""How a sweep came out, recorded where the MLflow runs page shows it: the parent's metrics, `best_cell`, a summary."""

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from mlflow import MlflowClient
from mlflow.entities import Metric, RunTag

from sweep.tracking import liveness, store

TAG_BEST = "best_cell"
NOTE = "mlflow.note.content"
SUMMARY = "sweep/summary.json"  # every job of this invocation and every cell it skipped, with run ids


def _cell(run) -> str:
    return run.data.tags.get(store.TAG_CELL, run.info.run_name)


def _mean(runs: list, key: str) -> float:
    return sum(r.data.metrics[key] for r in runs) / len(runs)


def best(runs: list, winner: Optional[str] = None) -> Optional[Tuple[str, float, float]]:
    """The cell with the highest mean last-epoch validation accuracy: (name, its val, its test accuracy).

    By validation accuracy only: picking the best cell by test accuracy would leak the test set into the choice.
    A sweeper that decides the winner itself (a race) names it: its cells have unequal seeds, and a cell that
    left the race early (or a twin, with one seed) can have a higher mean on its few seeds than the winner.
    """
    by_cell: Dict[str, list] = {}
    for run in runs:
        if run.info.status == "FINISHED" and {"val_accuracy", "test_accuracy"} <= set(run.data.metrics):
            by_cell.setdefault(_cell(run), []).append(run)
    if not by_cell:
        return None
    name = winner if winner in by_cell else max(by_cell, key=lambda cell: _mean(by_cell[cell], "val_accuracy"))
    return name, _mean(by_cell[name], "val_accuracy"), _mean(by_cell[name], "test_accuracy")


def _counts(jobs: list) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for job in jobs:
        counts[job.info.status] = counts.get(job.info.status, 0) + 1
    return counts


def reason(run) -> str:
    """Why a job run did not finish (its failure reason or end reason), or an empty string."""
    return run.data.tags.get("failure_reason") or run.data.tags.get(liveness.TAG_END_REASON, "")


def _entry(run) -> dict:
    metrics = {k: run.data.metrics[k] for k in ("val_accuracy", "test_accuracy") if k in run.data.metrics}
    return {"cell": _cell(run), "run_id": run.info.run_id, "status": run.info.status, **metrics}


def reused(uri: str, run_id: str, jobs: list) -> Tuple[list, int]:
    """A sweeper that plans as it goes (a race) lists every job it used in the parent's planned cells by its end:
    the FINISHED runs among them that ran before this sweep (latest per configuration), and how many it used."""
    client = MlflowClient(uri)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar for one small file, at the end
    with tempfile.TemporaryDirectory() as where:
        cells = json.loads(Path(client.download_artifacts(run_id, store.PLANNED_CELLS, where)).read_text())["cells"]
    done, ours = store.finished_runs(uri, client.get_run(run_id).info.experiment_id), {j.info.run_id for j in jobs}
    earlier = [done[c["config_hash"]] for c in cells if c["config_hash"] in done]
    return [r for r in earlier if r.info.run_id not in ours], len(cells)


def race_winner(uri: str, run_id: str) -> Optional[str]:
    """The winner a race tagged on its parent (the first cell of `race.best`, written by sweep.search's race)."""
    named = MlflowClient(uri).get_run(run_id).data.tags.get(store.TAG_RACE_BEST, "")
    return named.split(" | ")[0] or None


def record(uri: str, run_id: str, jobs: list, earlier: list, planned: int, race: bool = False) -> List[str]:
    """Log the outcome to the parent run (metrics, tag best_cell, sweep/summary.json); return the summary lines.

    `jobs` ran under this parent; `earlier` are the FINISHED runs of the cells it skipped (they count for best_cell).
    With `race`, best_cell is the race's winner (`race.best`), read over the same runs.
    """
    counts = _counts(jobs)
    values = {f"cells_{s}": counts.get(s.upper(), 0) for s in ("finished", "failed", "killed")}
    values.update(cells_skipped=len(earlier), **({"cells_planned": planned} if planned else {}))
    top = best(jobs + earlier, race_winner(uri, run_id) if race else None)
    said = lines(jobs, len(earlier), top)
    tags = [RunTag(NOTE, "\n\n".join(said))]  # the run page's Description
    if top:
        values.update(best_cell_val_accuracy=top[1], best_cell_test_accuracy=top[2])
        tags.append(RunTag(TAG_BEST, top[0]))
    now = int(time.time() * 1000)
    client = MlflowClient(uri)
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in values.items()], tags=tags)
    summary = {"jobs": [_entry(j) for j in jobs], "skipped": [_entry(r) for r in earlier], TAG_BEST: top and top[0]}
    client.log_dict(run_id, summary, SUMMARY)
    return said


def lines(jobs: list, skipped: int, top: Optional[Tuple[str, float, float]]) -> List[str]:
    """The sweep's closing lines: how many jobs ended how, each one that did not finish, and the best cell."""
    head = ", ".join(f"{n} {s.lower()}" for s, n in sorted(_counts(jobs).items())) or "no jobs ran"
    out = [f"summary: {head}, {skipped} skipped (already finished)"]
    for job in sorted(jobs, key=lambda r: r.info.start_time):
        if job.info.status != "FINISHED":
            out.append(f"  {job.info.status} {job.info.run_name}: {reason(job)}".rstrip(": "))
    if top:
        out.append(f"best by validation accuracy: {top[0]} (val_accuracy {top[1]:.4f}, test_accuracy {top[2]:.4f})")
    return out
