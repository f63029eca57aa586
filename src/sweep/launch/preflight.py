"""A sweep's setup is all or nothing: any failure before the first job is one `error:` line and exit 2.

Hydra turns an exception raised in a callback into a warning and launches the jobs anyway (shared/FACTS.md), so the
multirun's setup runs inside `fatal()`: whatever fails there, an expected bad input or not, ends the command with
SystemExit, which Hydra's callback runner does not catch. `HYDRA_FULL_ERROR=1` shows the traceback as well.
"""

import os
import sys
import traceback
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional

from omegaconf import DictConfig

from sweep.config import plan
from sweep.models import check as model_check
from sweep.tracking import secrets

# Failures whose message is already the one line for the user (it names the key and what is allowed).
EXPLAINED = (ValueError, LookupError, RuntimeError)


def fail(exc: BaseException) -> None:
    """Print one line for a bad input or a broken setup and exit 2, before anything is tracked."""
    from sweep.launch import warmup

    warmup.stop()
    print(f"error: {one_line(exc)}", file=sys.stderr)
    sys.exit(2)


def one_line(exc: BaseException) -> str:
    """The exception as one line without secrets: its own message where it explains itself, else its type too."""
    text = (str(exc).strip().splitlines() or [""])[0]
    if type(exc).__module__.startswith("sweep") or type(exc) in EXPLAINED:
        return secrets.redact(text or type(exc).__name__)
    return secrets.redact(f"the sweep's setup failed: {type(exc).__name__}: {text}"[:500])


@contextmanager
def fatal(*undo: Callable[[], None]) -> Iterator[None]:
    """Run a setup step whose any failure must stop the command: undo what it began, print one line, exit 2."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - every failure of the setup stops the sweep, explained or not
        for step in undo:
            step()
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            traceback.print_exc()
        fail(exc)


def planned(config: DictConfig, ahead: Optional[Callable[[int, Dict[str, str], dict], None]] = None) -> plan.Planned:
    """Every job of the multirun checked (sweep.config.plan), and each user model builder built once, checked.

    `ahead(n_jobs, env, data keys)`: called once the first job passed (sweep.config.plan.planned)."""
    checked = plan.planned(config, ahead)
    model_check.builders_of(checked.builders, checked.swept)  # TensorFlow loads only for a user's builder
    return checked
