"""Run sweep's commands as real subprocesses and read the store back, for the end-to-end tests."""

import os
import subprocess
import sys
import time
from typing import List

from mlflow import MlflowClient

from sweep.tracking import store


def run_module(module: str, *args: str, cwd, uri: str = None, env: dict = None, timeout: int = 600):
    """Run `python -m module args` as a user would, in cwd, against the given (or the test's) store."""
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **({"MLFLOW_TRACKING_URI": uri} if uri else {}), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def sweep_in(where, *overrides: str):
    """Run one real multirun in `where` with a SQLite store of its own there; return (uri, completed process)."""
    uri = f"sqlite:///{where / 'mlflow.db'}"
    done = run_module("sweep.train", "-m", *overrides, cwd=where, uri=uri)
    assert done.returncode == 0, done.stderr[-3000:]
    return uri, done


def start_module(module: str, *args: str, cwd) -> subprocess.Popen:
    """Start `python -m module args` with its stdout readable line by line."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for(proc: subprocess.Popen, *needles: str, timeout: float = 300) -> List[str]:
    """Read proc's output until each needle has appeared, in order; return the lines read."""
    lines, deadline, pending = [], time.time() + timeout, list(needles)
    while pending:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, f"process ended before {pending[0]!r}:\n{''.join(lines[-30:])}"
        assert time.time() < deadline, f"timed out waiting for {pending[0]!r}"
        lines.append(line)
        if pending[0] in line:
            pending.pop(0)
    return lines


def all_runs(experiment: str = "sweep", uri: str = None) -> list:
    """Every run of the experiment (jobs and parents), oldest first; [] when the store or experiment is absent."""
    client = MlflowClient(uri or os.environ["MLFLOW_TRACKING_URI"])
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return client.search_runs([found.experiment_id], order_by=["attributes.start_time ASC"], max_results=5000)


def by_role(runs: list, role: str) -> list:
    """The runs of one sweep role ('parent' or 'job')."""
    return [r for r in runs if r.data.tags.get(store.TAG_ROLE) == role]
