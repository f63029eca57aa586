"""Keep `slots` jobs in flight through Hydra's launcher, refilling a slot the moment its job ends.

Hydra's `launcher.launch(batch)` returns only once every job of the batch is done, so a sweeper that launches in
batches leaves a worker idle from the moment its job ends (pruned, say) until the slowest job of the batch ends.
Here each slot is a thread that launches one job at a time and asks for the next as soon as it returns. Every call
gets its own `initial_job_idx` (the caller's unique job index), so Hydra's job numbers and output folders stay unique.
Hydra's joblib launcher hands every call to one loky pool (joblib reuses it while its arguments are the same), and
its Ray launcher submits each call's task to the same Ray; concurrent calls are safe once the first call has set the
launcher up (it starts Ray, or completes joblib's settings), so the first job runs alone until then (see `ready`).
Written by hand: Hydra has no non-blocking launch, and both sweepers of sweep need this (search, race).
"""

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

POLL_S = 0.25


@dataclass
class Job:
    """One job to launch: its overrides, Hydra's job index (unique) and whatever the caller wants back."""

    overrides: List[str]
    index: int
    key: Any = None


class InFlight:
    """Run jobs from `next_job()` (None: no more), `slots` at a time; `done(job, result, seconds)` after each.

    `result` is the job's JobReturn, or the exception the launch call raised. `started(job)` tells whether a job
    is running (the gate for the other slots). `stopping()` is polled: once true, no slot launches another job.
    """

    def __init__(
        self, launcher: Any, slots: int, next_job: Callable[[], Optional[Job]], done: Callable, started: Callable
    ):
        self.launcher, self.slots = launcher, slots
        self.next_job, self.done, self.started = next_job, done, started
        self.stop = threading.Event()
        self.busy_s = 0.0  # slot-seconds spent inside launch calls
        self._lock = threading.Lock()
        self.error: Optional[BaseException] = None  # raised in run() once every slot has stopped
        self._first_job: Optional[Job] = None
        self._first_back = threading.Event()

    def run(self, stopping: Callable[[], bool]) -> float:
        """Launch until no job is left; return the wall time. On KeyboardInterrupt: stop the workers, re-raise."""
        start = time.monotonic()
        threads = [threading.Thread(target=self._slot, name=f"sweep-slot-{i}", daemon=True) for i in range(self.slots)]
        try:
            threads[0].start()
            while not (self._first_back.is_set() or ready(self.launcher) or self._first_started()):
                self._wait([threads[0]], stopping)
            for thread in threads[1:]:
                thread.start()
            while any(t.is_alive() for t in threads):
                self._wait(threads, stopping)
            if self.error is not None:
                raise self.error
        except KeyboardInterrupt:
            self.stop.set()
            abort(self.launcher)
            for thread in (t for t in threads if t.is_alive()):
                thread.join(timeout=30)  # their launch calls return once the workers are gone
            raise
        return time.monotonic() - start

    def _first_started(self) -> bool:
        return self._first_job is not None and self.started(self._first_job)

    def _wait(self, threads: List[threading.Thread], stopping: Callable[[], bool]) -> None:
        if stopping():
            self.stop.set()
        alive = [t for t in threads if t.is_alive()]
        if not alive:
            self._first_back.set()
            return
        alive[0].join(timeout=POLL_S)  # short waits: the main thread must stay free for Ctrl-C / SIGTERM

    def _slot(self) -> None:
        try:
            while not self.stop.is_set() and self._one():
                pass
        except BaseException as exc:  # noqa: BLE001 - the caller's own error (the study's storage, say): stop all
            self.error = self.error or exc
            self.stop.set()

    def _one(self) -> bool:
        job = self.next_job()
        if job is None:
            return False
        self._first_job = self._first_job or job
        began = time.monotonic()
        try:
            result: Any = self.launcher.launch([job.overrides], initial_job_idx=job.index)[0]
        except BaseException as exc:  # noqa: BLE001 - a broken pool or an interrupt: that job's outcome
            result = exc
        seconds = time.monotonic() - began
        with self._lock:
            self.busy_s += seconds
        self._first_back.set()
        self.done(job, result, seconds)
        return True


def ready(launcher: Any) -> bool:
    """Whether a first launch call has set the launcher up, so that others may call it at once.

    Hydra's joblib launcher adds `backend` to its settings dict in its first call (a second call iterating that dict
    meanwhile would fail); its Ray launcher starts Ray in its first call (two calls would both start it). Any other
    launcher: only once the first job has started.
    """
    kind = type(launcher).__name__
    if kind == "FusedLauncher":  # sweep's joblib launcher never changes its settings dict: safe from the start
        return True
    if kind == "JoblibLauncher":
        return "backend" in getattr(launcher, "joblib", {})
    if kind == "RayLauncher":
        import ray

        return ray.is_initialized()
    return False


def abort(launcher: Any) -> None:
    """Stop the launcher's workers at once (their runs are then ended KILLED by the parent)."""
    kind = type(launcher).__name__
    if kind in ("JoblibLauncher", "FusedLauncher"):
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor(reuse=True).shutdown(wait=False, kill_workers=True)
    elif kind == "RayLauncher":
        import ray

        ray.shutdown()
