"""A new SQLite store made beside a reader that migrates the same file at the same moment, N times (issue 26).

The reader polls `MlflowClient("sqlite:///mlruns/mlflow.db")` in the folder, as an open `mlflow ui` does; this
process prepares the store 1-4 s after the reader starts, while the reader's migrations run. Prints how many tries
ended with a whole store (MLflow's head revision and the experiment) and what the others said.
`python benchmarks/store_race.py [--tries 10]`.
"""

import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sweep.tracking import store, store_check

READER = """
import sys, time
from mlflow import MlflowClient
until = time.time() + float(sys.argv[1])
while time.time() < until:
    try:
        MlflowClient("sqlite:///mlruns/mlflow.db").search_experiments(max_results=1)
    except Exception:
        pass
"""


def attempt(where: Path) -> str:
    """One try: '' when the store ends whole, else what went wrong."""
    reader = subprocess.Popen([sys.executable, "-c", READER, "30"], cwd=where, stderr=subprocess.DEVNULL)
    time.sleep(random.uniform(1.0, 4.0))
    try:
        store.prepare_experiment(f"sqlite:///{where / 'mlruns' / 'mlflow.db'}", "sweep")
        with sqlite3.connect(where / "mlruns" / "mlflow.db") as con:
            revision = con.execute("select version_num from alembic_version").fetchall()
        return "" if revision == [(store_check.latest_revision(),)] else f"revision {revision}"
    except Exception as exc:  # noqa: BLE001 - counted and shown, whatever it is
        return f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        reader.kill()
        reader.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tries", type=int, default=10)
    tries = parser.parse_args().tries
    problems = [attempt(Path(tempfile.mkdtemp())) for _ in range(tries)]
    print(f"{problems.count('')} of {tries} new stores beside a reader ended whole")
    for problem in filter(None, problems):
        print(f"  {problem}")


if __name__ == "__main__":
    main()
