"""A launcher's task of several jobs, in one worker: each job is a Hydra job of its own, their cells train fused.

Each job goes through Hydra's own `run_job` (its config composed, its folder and files written, its env_set, the
callbacks), with the task function checking and naming the cell but not training it (sweep.training.job's
collecting). Then the cells that share their data, batches and seed (sweep.config.fusion) train in one loop
(sweep.training.fused), any other alone, each in its Hydra environment; every job's JobReturn gets its own cell's
test accuracy, or its own failure.
"""

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, env_override, setup_globals
from hydra_plugins.hydra_joblib_launcher._core import execute_job

from sweep.config import fusion
from sweep.process import console, errors


@contextmanager
def _as_job(ret: JobReturn) -> Iterator[None]:
    """The job's environment again (its env_set, and its console.log under a live display), as inside run_job."""
    hydra = ret.hydra_cfg.hydra
    with env_override(hydra.job.env_set), console.quiet_job(Path(hydra.runtime.output_dir) / "console.log"):
        yield


def _settle(ret: JobReturn, result: Any) -> None:
    if isinstance(result, BaseException):
        ret.status, ret.return_value = JobStatus.FAILED, errors.JobFailed.of(result)
    else:
        ret.status, ret.return_value = JobStatus.COMPLETED, result


def _train(pending: List[Tuple[JobReturn, Any]]) -> None:
    """Train the collected cells, fused where they share what fusing needs, and settle each job's return."""
    from sweep.training import fused, job

    alike: Dict[Any, List[Tuple[JobReturn, Any]]] = {}
    for ret, cell in pending:
        key = fusion.shared(cell.cfg) if fusion.can_fuse(cell.cfg) else id(cell)
        alike.setdefault(key, []).append((ret, cell))
    for members in alike.values():
        with _as_job(members[0][0]):
            if len(members) == 1:
                try:
                    results = [job.train(members[0][1])]
                except Exception as exc:
                    results = [exc]
            else:
                results = fused.train_cells([cell for _, cell in members])
        for (ret, _), result in zip(members, results, strict=True):
            _settle(ret, result)


def execute_group(
    jobs: Sequence[Tuple[int, Sequence[str]]], hydra_context: Any, config: Any, task: Any, state: Dict[Any, Any]
) -> List[JobReturn]:
    """Run several jobs of the launcher's batch as one task: Hydra's execute_job for each, then their training."""
    if len(jobs) == 1:  # a job alone: exactly what Hydra's joblib launcher runs (another app's: no TensorFlow)
        return [execute_job(*jobs[0], hydra_context, config, task, state)]
    from sweep.training import job

    setup_globals()
    Singleton.set_state(state)
    returns, pending = [], []
    with job.collecting() as collected:
        for index, overrides in jobs:
            seen = len(collected)
            ret = execute_job(index, overrides, hydra_context, config, task, state)
            returns.append(ret)
            if ret.status == JobStatus.COMPLETED and len(collected) > seen:  # else skipped, or failed its checks
                pending.append((ret, collected[seen]))
    _train(pending)
    return returns
