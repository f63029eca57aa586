"""The launching process's one live view of a sweep in a terminal: cells done, failed, the running ones, ETA.

It polls the store from a thread while Hydra's launcher blocks: the store is the one channel that every launcher
shares (joblib workers, jobs in this process, Ray tasks on other machines), and the jobs already log each epoch
there. Jobs stay quiet meanwhile (sweep.process.console); each job that ends gets one line above the display.
"""

import logging
import sys
import threading
import time
from typing import List, Optional

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from sweep.launch import watch

POLL_S = 1.0  # per-epoch metrics reach the store in batches each second
LAUNCHER_LOGGERS = (  # their `#k : overrides` line per job is what the display shows instead
    "hydra._internal.core_plugins.basic_launcher",
    "hydra_plugins.hydra_joblib_launcher._core",
    "hydra_plugins.sweep_launchers.fused_launcher",
    "hydra_plugins.hydra_ray_launcher._core",
)


def wanted() -> bool:
    """Whether stdout is a terminal that can redraw (not a pipe, a file, CI's log or TERM=dumb)."""
    console = Console()
    return console.is_terminal and not console.is_dumb_terminal


def clock(seconds: Optional[float]) -> str:
    """Seconds as m:ss (h:mm:ss past an hour), or a dash when unknown."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


def eta(jobs: List[watch.Job], to_run: Optional[int], done: float) -> Optional[float]:
    """Seconds left at the pace since the first job started (not since launch: workers take a while to start)."""
    if not (to_run and done and jobs):
        return None
    busy = time.time() - min(j.start_time for j in jobs)
    return max(0.0, busy * (to_run - done) / done)


def render(jobs: List[watch.Job], to_run: Optional[int], elapsed: float) -> Group:
    """The display: a bar and counts, then one row per running cell with its epoch and last validation accuracy."""
    ended = [j for j in jobs if j.status != "RUNNING"]
    running = [j for j in jobs if j.status == "RUNNING"]
    failed, killed = (sum(j.status == status for j in ended) for status in ("FAILED", "KILLED"))
    done = len(ended) + sum(j.epoch / j.epochs for j in running if j.epochs)  # in cells, running ones by epoch
    head = Table.grid(padding=(0, 1))
    head.add_row(
        ProgressBar(total=max(to_run, 1), completed=done if to_run else 1, width=30)
        if to_run is not None
        else ProgressBar(pulse=True, width=30),
        Text(
            f"{len(ended)}/{'?' if to_run is None else to_run} cells done · {failed} failed · "
            + (f"{killed} killed · " if killed else "")
            + f"{len(running)} running · {clock(elapsed)} elapsed · ETA {clock(eta(jobs, to_run, done))}"
        ),
    )
    rows = Table.grid(padding=(0, 2))
    for job in running:
        val = job.metrics.get("val_accuracy") if job.epoch else None
        rows.add_row(
            Text(f"  {job.name}"),
            Text(f"epoch {job.epoch}/{job.epochs or '?'}" + (", evaluating" if job.epoch == job.epochs else "")),
            Text(f"val_accuracy {val:.4f}" if val is not None else ""),
        )
    return Group(head, rows) if running else Group(head)


class _NoJobList(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("\t#")


class Display:
    """A rich Live display fed by a thread that polls the store; start() before the launcher runs, stop() after."""

    def __init__(self, uri: str, parent_id: str, to_run: Optional[int]) -> None:
        self.uri, self.parent_id, self.to_run = uri, parent_id, to_run
        self.jobs: List[watch.Job] = []
        self.reported: set = set()
        self.started = time.monotonic()
        # stderr sent elsewhere (2>file) stays there; on the terminal it prints above the display, as stdout does
        self.live = Live(self, refresh_per_second=4, redirect_stdout=True, redirect_stderr=sys.stderr.isatty())
        self._filter = _NoJobList()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="sweep-display", daemon=True)

    def __rich__(self) -> Group:
        return render(self.jobs, self.to_run, time.monotonic() - self.started)

    def start(self) -> None:
        """Show the display (stdout and stderr of this process now print above it) and start polling."""
        for name in LAUNCHER_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)
        self.live.start()
        self._thread.start()

    def update(self) -> None:
        """Read the store once; print a line for each job that ended since the last read."""
        try:
            jobs = watch.jobs(self.uri, self.parent_id)
        except Exception:  # noqa: BLE001 - a failed read (a busy store, a server's hiccup) waits for the next one
            return
        for job in jobs:
            if job.status != "RUNNING" and job.run_id not in self.reported:
                self.reported.add(job.run_id)
                self.live.console.print(Text(watch.finished_line(job)))
        self.jobs = jobs

    def _poll(self) -> None:
        while not self._stop.wait(POLL_S):
            self.update()

    def stop(self) -> None:
        """Read the store a last time, leave the final display on screen and restore stdout and stderr."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10 * POLL_S)  # a read stuck on an unreachable server must not hold the exit
        self.update()
        self.live.stop()
        for name in LAUNCHER_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)
