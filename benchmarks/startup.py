"""Where a sweep's start-up goes: launch to the first job training, and to its first epoch's metrics in the store.

    python benchmarks/startup.py                   # the 8-job sample (every stack kind x relu, sigmoid), 1 epoch
    python benchmarks/startup.py --jobs 32         # the 32-cell sweep
    python benchmarks/startup.py --repeat 3        # the median of 3 launches (each on a fresh store)
    python benchmarks/startup.py --cold-data       # without the prepared-data cache (SWEEP_DATA_CACHE=off)

Each launch runs `python -m sweep.train -m ...` on full Fashion-MNIST in a fresh folder and store, with
$SWEEP_TIMELINE set: the launching process and every worker mark the phases they reach (sweep.process.timeline).
Prints each phase's time after launch (the launching process's, then the first worker's and the first job's) and
the two figures the issue sets (start-up <= 6 s, first epoch's metrics <= 10 s). Prints figures; asserts nothing.
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


def launch(jobs: int, cold: bool) -> dict:
    """One sweep; each phase's first time after launch, in seconds (the launching process's own marked as such)."""
    grid = ["reg=glob(*)", "act=glob(*)"] if jobs == 32 else [f"reg={STACKS}", "act=relu,sigmoid"]
    where = Path(tempfile.mkdtemp(prefix="sweep-startup-"))
    marks = where / "timeline.txt"
    env = {**os.environ, "SWEEP_TIMELINE": str(marks), "MLFLOW_TRACKING_URI": f"sqlite:///{where / 'mlflow.db'}"}
    env.pop("SWEEP_DATA_CACHE", None)
    if cold:
        env["SWEEP_DATA_CACHE"] = "off"
    command = [sys.executable, "-m", "sweep.train", "-m", *grid, "data=fashion_mnist", "train.epochs=1"]
    started = time.time()
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the sweep failed:\n{done.stderr[-3000:]}")
    first: dict = {}
    parent = None
    for line in marks.read_text().splitlines():
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
    args = parser.parse_args()
    if not args.cold_data:
        launch(8, False)  # fills the prepared-data cache once, as any earlier sweep on this machine would have
    runs = [launch(args.jobs, args.cold_data) for _ in range(args.repeat)]
    phases = defaultdict(list)
    for run in runs:
        for phase, seconds in run.items():
            phases[phase].append(seconds)
    print(f"{args.jobs} jobs, full Fashion-MNIST, {os.cpu_count()} cores; seconds after launch (median of {len(runs)})")
    for phase, values in sorted(phases.items(), key=lambda item: statistics.median(item[1])):
        print(f"  {statistics.median(values):6.2f}  {phase}")
    print(f"start-up (launch to the first job training): {statistics.median(phases[TRAINING]):.2f} s (target <= 6)")
    print(f"first epoch's metrics in the store: {statistics.median(phases[LOGGED]):.2f} s after launch (target <= 10)")


if __name__ == "__main__":
    main()
