"""A race's jobs in Hydra and MLflow: reuse FINISHED runs of the same config, launch the rest, read the metric back."""

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, OmegaConf

from sweep.config import cells
from sweep.config.overrides import env_overrides
from sweep.race import plan as race_plan
from sweep.race.loop import Job, Outcome
from sweep.race.rules import Rules
from sweep.tracking import store

TAG_ROUND = "race.round"


@dataclass
class Cell:
    """One cell of the race: its overrides and its config composed at seed 0 (the others differ only in the seed)."""

    name: str
    overrides: List[str]
    config: DictConfig
    swept: List[str]

    def at(self, seed: int) -> DictConfig:
        """The config of this cell's job at `seed`, as the job will compose it."""
        cfg = copy.deepcopy(self.config)
        OmegaConf.update(cfg, race_plan.SEED, seed)
        return cfg

    def planned(self, seed: int) -> dict:
        """The job at `seed` as sweep/planned_cells.json records it: cell, run name, cell_hash, config_hash."""
        cfg = self.at(seed)
        run = cells.run_name(self.name, cfg, self.swept)
        return {"cell": self.name, "run": run, "cell_hash": cells.cell_hash(cfg), "config_hash": cells.config_hash(cfg)}


def outcome(run: Any, metric: str) -> Outcome:
    """What the race reads from a job's FINISHED run: its metric (the last epoch's) and its weights hash."""
    if run is None:
        return Outcome(None)
    return Outcome(run.data.metrics.get(metric), run.data.tags.get(store.TAG_WEIGHTS))


@dataclass
class Jobs:
    """Runs each round's jobs: FINISHED runs of the same config are reused, the rest go to Hydra's launcher."""

    cells: Dict[str, Cell]
    rules: Rules
    launcher: Any
    uri: str
    experiment_id: str
    used: List[dict] = field(default_factory=list)  # every job the race used, with its run and value
    failures: List[JobReturn] = field(default_factory=list)
    launched: int = 0

    def evaluate(self, round_: int, batch: List[Job]) -> Dict[Job, Outcome]:
        """Each job's metric value (None where it failed) and weights hash, reusing what the store has finished."""
        plans = {job: self.cells[job[0]].planned(job[1]) for job in batch}
        digests = {job: plan["config_hash"] for job, plan in plans.items()}
        retrain = bool(next(iter(self.cells.values())).config.retrain)
        done = {} if retrain else self._finished()  # retrain=true: every job runs again
        todo = [job for job in batch if digests[job] not in done]
        returns = self._launch(round_, todo)
        failed = {job for job, ret in zip(todo, returns, strict=True) if ret.status != JobStatus.COMPLETED}
        self.failures += [ret for ret in returns if ret.status != JobStatus.COMPLETED]
        if todo:
            done = self._finished()  # the latest FINISHED run of each config: the one just launched
        values = {}
        for job in batch:
            run = None if job in failed else done.get(digests[job])
            values[job] = outcome(run, self.rules.metric)
            self.used.append(
                {
                    "round": round_,
                    **plans[job],  # cell, run (its name), cell_hash, config_hash
                    "seed": job[1],
                    "run_id": run.info.run_id if run is not None else None,
                    "value": values[job].value,
                    "weights_hash": values[job].digest,
                    "reused": job not in todo,
                }
            )
        return values

    def _finished(self) -> dict:
        return store.finished_runs(self.uri, self.experiment_id)

    def _launch(self, round_: int, todo: List[Job]) -> List[JobReturn]:
        if not todo:
            return []
        env = {store.ENV_JOB_TAGS: json.dumps({TAG_ROUND: str(round_)}), store.ENV_N_JOBS: ""}
        batch = [race_plan.job(self.cells[c].overrides, s) + env_overrides(env) for c, s in todo]
        returns = list(self.launcher.launch(batch, initial_job_idx=self.launched))
        self.launched += len(todo)
        return returns
