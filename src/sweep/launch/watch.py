"""What the launching process reads back from the store while a sweep runs: each job's state, epoch and accuracies."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from mlflow import MlflowClient

from sweep.launch import outcome, parent


@dataclass(frozen=True)
class Job:
    """One job run of the sweep as the store has it now (per-epoch metrics land about a second after the epoch)."""

    run_id: str
    name: str
    status: str
    start_time: float  # seconds since the epoch
    epoch: int  # epochs whose metrics are logged
    epochs: Optional[int]  # train.epochs, once the job has logged its params
    metrics: Dict[str, float] = field(default_factory=dict)  # latest values; val_accuracy is the last epoch's
    reason: str = ""


def jobs(uri: str, parent_id: str) -> List[Job]:
    """Every job under the parent run, oldest first; a running job's epoch from its val_accuracy history."""
    client = MlflowClient(uri)
    found = []
    for run in sorted(parent.children(uri, parent_id), key=lambda r: r.info.start_time):
        epochs = run.data.params.get("train.epochs")
        epoch = int(epochs) if run.info.status == "FINISHED" and epochs else 0
        if run.info.status == "RUNNING":
            epoch = len(client.get_metric_history(run.info.run_id, "val_accuracy"))
        found.append(
            Job(
                run.info.run_id,
                run.info.run_name,
                run.info.status,
                run.info.start_time / 1000,
                epoch,
                int(epochs) if epochs else None,
                dict(run.data.metrics),
                outcome.reason(run),
            )
        )
    return found


def finished_line(job: Job) -> str:
    """One line for a job that ended: its accuracies, or how it ended and why."""
    if job.status != "FINISHED":
        return f"✗ {job.name}  {job.status}" + (f": {job.reason}" if job.reason else "")
    keys = [k for k in ("val_accuracy", "test_accuracy", "train_accuracy") if k in job.metrics]
    shown = [f"{key} {job.metrics[key]:.4f}" for key in keys]
    fit = job.metrics.get("fit_time_s")
    return f"✓ {job.name}  " + "  ".join(shown) + (f"  ({fit:.1f} s fit)" if fit is not None else "")
