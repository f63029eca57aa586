"""How long sweep waits out a tracking server that does not answer, and what it says when the wait is over.

MLflow retries every REST call (connection refused or reset, timeouts, 408/429/5xx) with exponential backoff; the
settings below are its environment variables. sweep sets them only where the user has not, in the entry points, so
that every job and worker inherits the same budget. docs/team.md explains the choice.
"""

import os
from contextlib import contextmanager
from typing import Iterator

from sweep.tracking import secrets
from sweep.tracking.errors import StoreError

RETRIES, BACKOFF, JITTER, TIMEOUT = (
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
)
# Waits of 0, 4, 8, 16, 32, 64, 120 s: about 4 minutes in all, several times what a restart of the server (15-35 s)
# or of its PostgreSQL (seconds) takes. Jitter spreads the parallel jobs' retries. A request may take 60 s, not
# MLflow's 120: a server that accepts connections but never answers costs a job 8 minutes, not 16.
DEFAULTS = {RETRIES: "7", BACKOFF: "2", JITTER: "1.0", TIMEOUT: "60"}
BACKOFF_MAX_S = 120  # urllib3's cap on one wait
# A probe's one attempt: a refused connection fails at once; a freshly started server's first requests took 4-7 s
# on 2 busy cores (it sets up its stores), so 5 s called a live server unreachable.
PROBE_TIMEOUT_S = 20


def apply_defaults() -> None:
    """Set the retry budget in this process's environment, where the user has not set it."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


def budget_s() -> float:
    """Seconds of waiting between the attempts of one request under the current settings (jitter aside)."""
    retries = int(os.environ.get(RETRIES, DEFAULTS[RETRIES]))
    factor = float(os.environ.get(BACKOFF, DEFAULTS[BACKOFF]))
    # urllib3: no wait before the first retry, then factor * 2^(n-1) before the n-th, each at most BACKOFF_MAX_S
    return sum(min(BACKOFF_MAX_S, factor * 2 ** (n - 1)) for n in range(2, retries + 1))


@contextmanager
def fail_fast() -> Iterator[None]:
    """Within: one attempt per request, answered within seconds (a probe, or a store known to be down)."""
    saved = {k: os.environ.get(k) for k in (RETRIES, TIMEOUT)}
    os.environ.update({RETRIES: "0", TIMEOUT: str(PROBE_TIMEOUT_S)})
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def unreachable(exc: BaseException) -> bool:
    """Whether an error (or the one it arose from) is MLflow giving up on a server that did not answer."""
    for _ in range(10):  # an exception's chain of causes is short; never follow a cycle
        if exc is None:
            return False
        text = str(exc)
        if "Max retries exceeded" in text or "failed with timeout exception" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def explained(uri: str, run: str = "this job's run") -> Iterator[None]:
    """Within: MLflow giving up on a store that stayed down past the retry budget becomes a StoreError saying so."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        if unreachable(exc):
            raise StoreError(outage(uri, run)) from exc
        raise


def outage(uri: str, run: str = "this job's run") -> str:
    """Why a command failed when the store stayed down past the retry budget, and what to do."""
    settings = f"{RETRIES}={os.environ.get(RETRIES, DEFAULTS[RETRIES])}, {BACKOFF}={os.environ.get(BACKOFF)}"
    return (
        f"MLFLOW_TRACKING_URI: the tracking server {secrets.display_uri(uri)} was unreachable or failing through about "
        f"{budget_s():.0f} s of retries ({settings}); the next sweep command marks {run} KILLED, "
        "and the same command again trains the cells left"
    )
