"""Outages: real sweeps on the team server (PostgreSQL + `mlflow server` with basic auth) while it goes down.

    python benchmarks/outage.py                  # all three scenarios (about 10 minutes on 2 cores)
    python benchmarks/outage.py --only server    # server | postgres | long

  server    the server is SIGKILLed (it and its workers, as an OOM kill does) while jobs run; restarted 20 s later
  postgres  PostgreSQL is stopped while jobs run and started again 20 s later; the server stays up
  long      the server is down for longer than the retry budget (here cut to 12 s, 3 retries, so that the scenario
            takes a minute, not five): the jobs it hits fail with a reason, the next start leaves nothing RUNNING,
            and running the same command again completes the sweep

For each: the sweep's exit code and time, how long the outage lasted, how many requests were retried, how each cell
and the parent ended, and whether every per-epoch point is stored exactly once. Uses the test suite's helpers
(tests/servers.py) to start the services; asserts nothing.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]  # sweep itself, and tests/servers.py

from mlflow import MlflowClient  # noqa: E402

from tests import servers  # noqa: E402

DOWN_S = 20
EPOCHS = 4
CELLS = ["reg=none,l2", "act=relu,sigmoid"]
PER_EPOCH = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time_s")
SHORT_BUDGET = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "2"}  # waits 0+4+8 s


class Team:
    """PostgreSQL, and the team server on it, started once; a user who trains."""

    def __init__(self, root: Path) -> None:
        self.root, self.pg = root, servers.Postgres()
        self.pg.start()
        self.pg.run_init_script(servers.AUTH_DB_SCRIPT)
        auth = servers.Auth(self.pg.uri("mlflow_auth"))
        db = self.pg.create_database("mlflow")
        self.server = servers.MlflowServer(db, root / "artifacts", root / "mlflow.log", auth, workers=2)
        self.server.start()
        self.login = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": f"alice-{os.urandom(8).hex()}"}
        servers.create_user(self.server.url, auth, *self.login.values())

    def sweep(self, experiment: str, log: Path, **env: str) -> subprocess.Popen:
        """Start the 2 x 2 sweep into an experiment, its output going to `log`."""
        where = self.root / experiment
        where.mkdir(exist_ok=True)
        args = [
            *CELLS,
            "data=fashion_mnist",
            "data.limit=3000",
            f"train.epochs={EPOCHS}",
            f"mlflow.experiment={experiment}",
        ]
        full = servers.clean_env(
            MLFLOW_TRACKING_URI=self.server.url, PYTHONPATH=str(REPO / "src"), PYTHONUNBUFFERED="1", **self.login, **env
        )
        with open(log, "a") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "sweep.train", "-m", *args], cwd=where, env=full, stdout=out, stderr=out
            )

    def close(self) -> None:
        self.server.stop()
        self.pg.close()


def wait_for(log: Path, needle: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the sweep ended before {needle!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def store_figures(team: Team, experiment: str) -> dict:
    """How the experiment's runs ended and how many of their per-epoch points are stored, and how often."""
    os.environ.update(team.login)
    client = MlflowClient(team.server.url)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], max_results=1000)
    jobs = [r for r in runs if r.data.tags.get("sweep_role") == "job"]
    points = Counter()
    for run in (r for r in jobs if r.info.status == "FINISHED"):
        for key in PER_EPOCH:
            steps = Counter(m.step for m in client.get_metric_history(run.info.run_id, key))
            points["expected"] += EPOCHS
            points["once"] += sum(steps[s] == 1 for s in range(1, EPOCHS + 1))
            points["missing"] += sum(steps[s] == 0 for s in range(1, EPOCHS + 1))
            points["duplicated"] += sum(n - 1 for n in steps.values() if n > 1)
    return {
        "jobs": Counter(r.info.status for r in jobs),
        "parents": Counter(r.info.status for r in runs if r.data.tags.get("sweep_role") == "parent"),
        "running": sum(r.info.status == "RUNNING" for r in runs),
        "reasons": sorted({r.data.tags.get("sweep.end_reason", "") for r in jobs if r.info.status != "FINISHED"}),
        "points": points,
    }


def report(name: str, rc: int, wall: float, outage: float, log: Path, figures: dict, served: str = "") -> None:
    text = log.read_text()
    cells = ", ".join(f"{n} {s}" for s, n in sorted(figures["jobs"].items()))
    parents = ", ".join(f"{n} {s}" for s, n in sorted(figures["parents"].items()))
    p = figures["points"]
    print(f"{name}: sweep exit {rc} after {wall:.0f} s; outage {outage:.0f} s (from the stop until it answered again)")
    refused, failed = text.count("Retrying (Retry("), len(re.findall(r'HTTP/1.1" 5\d\d', served))
    print(f"  retried: {refused} requests refused or cut, {failed} answered 5xx; job runs {cells}; parents {parents}")
    print(
        f"  per-epoch points of finished jobs: {p['once']} of {p['expected']} stored once, {p['missing']} missing, "
        f"{p['duplicated']} duplicates; runs RUNNING now: {figures['running']}"
    )


def outage(stop, start, seconds: float) -> float:
    """Stop a service, wait, start it again; return how long it was down (until it answered again)."""
    stop()
    began = time.monotonic()
    time.sleep(seconds)
    start()
    return time.monotonic() - began


def scenario(team: Team, name: str, cause, **env: str) -> tuple:
    """Run the sweep, cause the outage once a job logs its epochs, wait for the sweep; print the figures."""
    log = team.root / f"{name}.log"
    started, served_from = time.monotonic(), team.server.log.stat().st_size
    proc = team.sweep(name, log, **env)
    wait_for(log, f"] epoch 2/{EPOCHS}", proc)  # a job is training and logging its epochs: the outage meets requests
    down = cause()
    rc = proc.wait(timeout=1800)
    wall, served = time.monotonic() - started, team.server.log.read_text(errors="replace")[served_from:]
    report(name, rc, wall, down, log, store_figures(team, name), served)
    return log, rc


def long_outage(team: Team) -> None:
    """Down past the retry budget: which jobs fail and why, then the rerun."""
    # 60 s down: the jobs give up after 12 s of retries, and the parent then ends without a server
    log, _ = scenario(team, "long", lambda: outage(team.server.kill, team.server.start, 3 * DOWN_S), **SHORT_BUDGET)
    for line in log.read_text().splitlines():
        if "error: " in line or "StoreError" in line or "could not be ended" in line:
            print(f"    {line[:400]}")
    rerun_log = team.root / "long-rerun.log"
    started = time.monotonic()
    rc = team.sweep("long", rerun_log).wait(timeout=1800)
    wall, figures = time.monotonic() - started, store_figures(team, "long")
    lines = rerun_log.read_text().splitlines()
    print(f"  the same command again: exit {rc} after {wall:.0f} s; at its start:")
    for line in lines:
        if "marked KILLED" in line or "already finished" in line:
            print(f"    {line[:300]}")
    report("long, after the rerun", rc, wall, 0, rerun_log, figures)
    print(f"  end reasons of the runs that did not finish: {figures['reasons']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["server", "postgres", "long"], help="run one scenario only")
    args = parser.parse_args()
    team = Team(Path(tempfile.mkdtemp(prefix="sweep-outage-")))
    try:
        if args.only in (None, "server"):
            scenario(team, "server", lambda: outage(team.server.kill, team.server.start, DOWN_S))
        if args.only in (None, "postgres"):
            scenario(team, "postgres", lambda: outage(team.pg.stop, team.pg.start, DOWN_S))
        if args.only in (None, "long"):
            long_outage(team)
    finally:
        team.close()


if __name__ == "__main__":
    main()
