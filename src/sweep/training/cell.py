"""A job's cell as training sees it: where it was launched (JobContext) and what it is once checked (Cell)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from sweep.config import cells
from sweep.tracking import store, study
from sweep.training import progress
from sweep.training.pruning import trial_tags


@dataclass
class JobContext:
    """What a job knows about its launch: store, sweep, its groups' options, the swept keys, position, Hydra's files."""

    uri: str
    sweep_id: str
    choices: Dict[str, str]  # each config group's chosen option (reg, act, data, speed)
    swept: List[str] = field(default_factory=list)  # the keys the sweep varies (sweep.config.cells)
    config_dir: Optional[Path] = None
    index: int = 1
    total: Optional[int] = None
    in_sweep: bool = False  # a job of a multirun: no Keras bars; lines, or nothing under a live display
    trial: Optional[study.TrialLink] = None  # a search trial: the study and trial number it reports to
    trial_name: Optional[str] = None  # the run name its search gave the trial (its drawn values)

    def position(self) -> str:
        """Where the job stands: `cell 3 of 8`, or a search's `trial 12`."""
        if self.trial:
            return f"trial {self.trial.number}"
        return f"cell {self.index} of {self.total}" if self.total else f"cell {self.index}"

    def names(self, cfg: Any) -> "tuple[str, str]":
        """The job's cell name and run name (a search trial's run is named by its drawn values)."""
        cell = cells.name(cells.values(cfg, self.choices, self.swept))
        return cell, self.trial_name or cells.run_name(cell, cfg, self.swept)


@dataclass
class Cell:
    """A job's cell, checked, named and not yet finished: what training it needs, alone or beside others."""

    cfg: Any
    ctx: JobContext
    experiment_id: str
    name: str
    run_name: str
    trial: Optional[Any] = None  # a search trial's open Optuna trial (it trains alone, never fused)
    # the tags its sweeper set in the job's environment (race.round), read while that environment is the job's:
    # a fused group trains later, in its first job's environment
    sweeper_tags: Dict[str, str] = field(default_factory=store.sweeper_tags)

    def tags(self, threads: int) -> Dict[str, str]:
        """The tags of the cell's run."""
        return {
            store.TAG_SWEEP: self.ctx.sweep_id,
            store.TAG_CELL: self.name,
            store.TAG_CELL_HASH: cells.cell_hash(self.cfg),
            store.TAG_HASH: cells.config_hash(self.cfg),
            "sweep.intra_op_threads": str(threads),
            **trial_tags(self.ctx.trial, self.trial),
            **self.sweeper_tags,
        }

    def announce(self) -> None:
        """Say that the cell starts: `[sweep] cell k of N: <run name>` (a search's `trial k`)."""
        self.say(f"[sweep] {self.ctx.position()}: {self.run_name}")

    def say(self, text: str) -> None:
        """Print one of the cell's status lines (none under a live display)."""
        progress.say(text, self.ctx.in_sweep)
