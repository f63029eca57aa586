"""hydra/sweeper=race in any Hydra app: the grid raced over the app's seed key, the task's return value as metric.

The rounds, tests and stopping rules are sweep.race's; here every job runs (no store to reuse FINISHED runs from)
and its value is read from what the task returned. The race is written to <sweep dir>/race/ after every round, and
to the parent run of sweep's MLflow callback when tracking is on (hydra/callbacks=mlflow).
"""

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, OmegaConf

from sweep.apps import returns, tracking
from sweep.config import app_kind as kind
from sweep.config import compose_jobs
from sweep.config import plan as config_plan
from sweep.config.overrides import env_overrides, keys
from sweep.launch import preflight
from sweep.race import files, loop, records
from sweep.race import plan as race_plan
from sweep.race import rules as race_rules
from sweep.race.loop import Job, Outcome
from sweep.race.rules import Rules


@dataclass
class AppJobs:
    """Launches each round's jobs (cell overrides + seed) and reads the metric from what each task returned."""

    cells: Dict[str, List[str]]
    seed_key: str
    rules: Rules
    launcher: Any
    env: List[str] = field(default_factory=list)  # overrides that set every job's environment
    used: List[dict] = field(default_factory=list)
    failures: List[JobReturn] = field(default_factory=list)
    launched: int = 0
    bad: Optional[str] = None  # the first return value no metric could be read from

    @property
    def sign(self) -> float:
        return 1.0 if self.rules.direction == "maximize" else -1.0  # the race maximizes: a minimized metric negated

    def evaluate(self, round_: int, batch: List[Job]) -> Dict[Job, Outcome]:
        overrides = [race_plan.job(self.cells[cell], seed, self.seed_key) + self.env for cell, seed in batch]
        returned = list(self.launcher.launch(overrides, initial_job_idx=self.launched)) if batch else []
        self.launched += len(batch)
        out = {}
        for job, ret in zip(batch, returned, strict=True):
            value = self._value(ret)
            out[job] = Outcome(None if value is None else self.sign * value)
            self.used.append({"round": round_, "cell": job[0], "seed": job[1], "value": value, "reused": False})
        return out

    def _value(self, ret: JobReturn) -> Optional[float]:
        if ret.status != JobStatus.COMPLETED:
            self.failures.append(ret)
            return None
        try:
            return returns.values(ret.return_value, [self.rules.metric], 1)[0]
        except returns.BadReturn as exc:
            self.bad = self.bad or str(exc).replace("hydra.sweeper.direction", "hydra.sweeper.metric")
            return None


def _check_seed_key(config: DictConfig, loader: Any, cell: List[str], key: str) -> None:
    composed = compose_jobs.composer(loader, config)(cell)
    if OmegaConf.select(composed, key, default=None) is None:
        raise ValueError(
            f"hydra.sweeper.seed_key={key}: the app's config has no key {key}; name the key the task seeds from "
            f"(hydra.sweeper.seed_key=...), or add {key} to the app's config"
        )


def _name(cell: List[str], swept: List[str]) -> str:
    shown = [o for o, k in zip(cell, keys(cell), strict=True) if k in swept]
    return " ".join(shown) or " ".join(cell) or "default"


def run(config: DictConfig, loader: Any, launcher: Any) -> loop.Race:
    """Race the grid; exit 2 before any job for a bad setting, or as soon as a task returns no metric."""
    with preflight.fatal():
        rules = race_rules.from_config(config.hydra.sweeper, app=True)
        key = race_plan.seed_key(config)
        grid = race_plan.grid(config, key)
        race_rules.check_budget(rules, len(grid))
        _check_seed_key(config, loader, grid[0], key)
    sweep_dir = Path(config.hydra.sweep.dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")
    swept = config_plan.swept_keys(grid)
    env = env_overrides(tracking.begin(config))  # the parent run, only now that the checks passed
    jobs = AppJobs({_name(cell, swept): cell for cell in grid}, key, rules, launcher, env)
    for name in kind.QUIET_LOGGERS:  # one line a round says it all; Hydra's launchers list every job with its env
        logging.getLogger(name).setLevel(logging.WARNING)
    print(f"[race] {len(grid)} cells over {key} = 0, 1, ... on {rules.metric} ({rules.direction})", flush=True)

    def after(race: loop.Race) -> None:
        if jobs.bad:
            tracking.abandon(config)
            print(f"error: {jobs.bad}", file=sys.stderr)
            sys.exit(2)
        for line in records.round_lines(race, jobs, jobs.sign):
            print(f"[race] {line}", flush=True)
        files.write(sweep_dir, race, jobs, rules, jobs.sign)

    race = loop.run(list(jobs.cells), rules, jobs.evaluate, after)
    for line in records.end_lines(race, jobs, rules, jobs.sign):
        print(f"[race] {line}", flush=True)
    print(f"[race] written to {sweep_dir / files.FOLDER}", flush=True)
    tracking.log_files(config, [sweep_dir / files.FOLDER])
    if jobs.failures:
        jobs.failures[0].return_value  # noqa: B018 - raises the job's error (exit 1), as the basic sweeper does
    return race
