"""Who may write to the terminal during a sweep: the launching process's live display, or every job in plain lines.

The launching process decides and hands its decision to every job through ENV_LIVE (its host and pid when it shows
a live display, empty when jobs print plain lines). Jobs in other processes (joblib workers, Ray tasks) share the
terminal, so under a display they send their output to a file; a job in the launching process itself (the basic
launcher) writes through the display, which prints it above itself.
"""

import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

ENV_LIVE = "SWEEP_LIVE_DISPLAY"


def owner() -> str:
    """This process as `host:pid`, the value ENV_LIVE holds when it shows the display."""
    return f"{socket.gethostname()}:{os.getpid()}"


def live() -> bool:
    """Whether a live display of the sweep is showing (in this process or the one that launched this job)."""
    return bool(os.environ.get(ENV_LIVE))


@contextmanager
def quiet_job(log_path: Optional[Path]) -> Iterator[None]:
    """Under a live display shown by another process, send this job's stdout and stderr (fds 1 and 2) to log_path.

    By file descriptor, not sys.stdout: TensorFlow's C++ logs and MLflow's messages must not reach the terminal
    either. The job's run in MLflow keeps what matters (its failure reason and traceback).
    """
    if not live() or os.environ.get(ENV_LIVE) == owner() or log_path is None:
        yield
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush(), sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(log_path, "a") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush(), sys.stderr.flush()
    finally:
        for fd, copy in enumerate(saved, start=1):
            os.dup2(copy, fd)
            os.close(copy)
