"""hydra/sweeper=race's sweep: the command line's grid raced over seeds, every round on Hydra's launcher."""

import os
from pathlib import Path
from typing import Any, Tuple

from omegaconf import DictConfig, OmegaConf

from sweep.race import files as race_files
from sweep.race import loop as race_loop
from sweep.race import plan as race_plan
from sweep.race import records as race_records
from sweep.race import rules as race_rules
from sweep.race.jobs import Cell, Jobs
from sweep.tracking import store


def context() -> Tuple[str, str, str]:
    """The store, experiment and parent run that sweep's multirun callback exported before the sweep."""
    names = ("MLFLOW_TRACKING_URI", store.ENV_EXPERIMENT, store.ENV_PARENT)
    values = tuple(os.environ.get(n) for n in names)
    if not all(values):
        raise RuntimeError(
            "hydra/sweeper=race needs sweep's multirun callback (hydra.callbacks.mlflow_sweep in conf/config.yaml): "
            f"{', '.join(n for n, v in zip(names, values, strict=True) if not v)} not set"
        )
    return values


def run(config: DictConfig, loader: Any, launcher: Any) -> race_loop.Race:
    """Race every cell of the grid; record each round on the parent run; re-raise the first failed job's error."""
    rules = race_rules.from_config(config.hydra.sweeper)
    grid = race_plan.grid(config)
    race_rules.check_budget(rules, len(grid))
    uri, experiment_id, parent_id = context()
    sweep_dir = Path(config.hydra.sweep.dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")  # as Hydra's basic sweeper does
    named = race_plan.named(config, grid, loader)
    cells = {name: Cell(name, cell, cfg, swept) for (name, cfg, swept), cell in zip(named, grid, strict=True)}
    jobs = Jobs(cells, rules, launcher, uri, experiment_id)
    race_records.start(uri, parent_id, rules, len(cells))
    print(
        f"[race] {len(cells)} cells, seeds {rules.min_seeds} to {rules.max_seeds} (+{rules.step} a round) on "
        f"{rules.metric}; Welch one-sided, Holm, alpha {rules.alpha} over {rules.looks} looks",
        flush=True,
    )
    record = race_records.writer(uri, parent_id, jobs)

    def after(race: race_loop.Race) -> None:  # the parent run, and <sweep dir>/race/ as in any app's race
        record(race)
        race_files.write(sweep_dir, race, jobs, rules)

    race = race_loop.run(list(cells), rules, jobs.evaluate, after)
    for line in race_records.end_lines(race, jobs, rules):
        print(f"[race] {line}", flush=True)
    if jobs.failures:
        jobs.failures[0].return_value  # noqa: B018 - raises the job's error (exit 1), as the basic sweeper does
    return race
