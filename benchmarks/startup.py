"""Where a sweep's start-up goes: launch to the first job training, and to its first epoch's metrics in the store.

    python benchmarks/startup.py                   # the 8-job sample (every stack kind x relu, sigmoid), 1 epoch
    python benchmarks/startup.py --jobs 32         # the 32-cell sweep
    python benchmarks/startup.py --repeat 3        # the median of 3 launches (each on a fresh store)
    python benchmarks/startup.py --cold-data       # without the prepared-data cache (SWEEP_DATA_CACHE=off)
    python benchmarks/startup.py --against /tmp/old  # also another checkout's code, launches alternating (before/after)

Each launch runs `python -m sweep.train -m ...` on full Fashion-MNIST in a fresh folder and store, with
$SWEEP_TIMELINE set: the launching process and every worker mark the phases they reach (sweep.process.timeline).
Prints each phase's time after launch (the launching process's, then the first worker's and the first job's) and
the two figures the issue sets (start-up <= 6 s, first epoch's metrics <= 10 s). The store's own record gives two
figures any version of sweep leaves (the first job run's creation, the first epoch's metric), which `--against`
compares side by side with another checkout (its src/ first on PYTHONPATH). Prints figures; asserts nothing.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

STACKS = "none,dropout,batchnorm,dropout_batchnorm"
TRAINING, LOGGED = "job: training (epoch 1 begins)", "job: epoch 1's metrics in the store"


def from_store(uri: str, started: float) -> dict:
    """What the store says of any version: when the first job run was created and its first epoch logged."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], "tags.sweep_role = 'job'")
    created = min(r.info.start_time for r in runs) / 1000 - started
    logged = min(m.timestamp for r in runs for m in client.get_metric_history(r.info.run_id, "loss")) / 1000 - started
    return {"(store) first job run created": created, "(store) first epoch's loss logged": logged}


def launch(jobs: int, cold: bool, src: str = None) -> dict:
    """One sweep; each phase's first time after launch, in seconds (the launching process's own marked as such)."""
    grid = ["reg=glob(*)", "act=glob(*)"] if jobs == 32 else [f"reg={STACKS}", "act=relu,sigmoid"]
    where = Path(tempfile.mkdtemp(prefix="sweep-startup-"))
    marks = where / "timeline.txt"
    env = {**os.environ, "SWEEP_TIMELINE": str(marks), "MLFLOW_TRACKING_URI": f"sqlite:///{where / 'mlflow.db'}"}
    env.pop("SWEEP_DATA_CACHE", None)
    if cold:
        env["SWEEP_DATA_CACHE"] = "off"
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(src) / "src"), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "sweep.train", "-m", *grid, "data=fashion_mnist", "train.epochs=1"]
    started = time.time()
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the sweep failed:\n{done.stderr[-3000:]}")
    first: dict = from_store(env["MLFLOW_TRACKING_URI"], started)
    parent = None
    for line in marks.read_text().splitlines() if marks.exists() else []:
        stamp, pid, phase = line.split(" ", 2)
        parent = parent or pid  # the launching process marks first
        name = phase if pid == parent or phase.startswith(("worker", "job")) else f"(other) {phase}"
        first.setdefault(name, float(stamp) - started)
    first["the sweep ended"] = time.time() - started
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, choices=[8, 32], default=8)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cold-data", action="store_true", help="no prepared-data cache (every process prepares)")
    parser.add_argument("--against", help="another checkout (e.g. a git worktree of an older commit) to compare")
    args = parser.parse_args()
    if not args.cold_data:
        launch(8, False)  # fills the prepared-data cache once, as any earlier sweep on this machine would have
    versions = {"this checkout": None, **({f"against {args.against}": args.against} if args.against else {})}
    runs: dict = {name: [] for name in versions}
    for _ in range(args.repeat):  # alternating, so that both meet the machine's same minutes
        for name, src in versions.items():
            runs[name].append(launch(args.jobs, args.cold_data, src))
    for name, done in runs.items():
        phases = defaultdict(list)
        for run in done:
            for phase, seconds in run.items():
                phases[phase].append(seconds)
        print(
            f"{name}: {args.jobs} jobs, full Fashion-MNIST, {os.cpu_count()} cores; seconds after launch "
            f"(median of {len(done)})"
        )
        for phase, values in sorted(phases.items(), key=lambda item: statistics.median(item[1])):
            print(f"  {statistics.median(values):6.2f}  {phase}")
        if TRAINING in phases:
            print(
                f"  start-up (launch to the first job training): {statistics.median(phases[TRAINING]):.2f} s "
                "(target <= 6)"
            )
            print(f"  first epoch's metrics in the store: {statistics.median(phases[LOGGED]):.2f} s (target <= 10)")


if __name__ == "__main__":
    main()
