"""Load: W writer processes, each logging what a 12-epoch job logs as fast as it can, against one tracking store.

    python benchmarks/load.py                       # 16 writers: a fresh SQLite store, then the team server
    python benchmarks/load.py --writers 32 --jobs 2
    python benchmarks/load.py --uri http://host:5000   # an existing store (login: MLFLOW_TRACKING_USERNAME/_PASSWORD)

The team server is the compose stack's topology, started here without Docker: PostgreSQL, and `mlflow server` with
MLflow's basic-auth app through docker/mlflow/start-server.sh (2 workers, as in docker-compose.yml), with the same
helpers the tests start it with (tests/servers.py). A job's writes, as sweep makes them: its run, its params in one
call, one call per epoch (5 metrics), its final metrics in one call, two small artifacts, its end; sweep's retry
settings. Afterwards every point is read back. Prints requests per second, p50/p99 latency, "database is locked"
errors and lost points per store; its last line is `W writers: lost L of N points, E errors` over every store.
Asserts nothing.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]  # sweep itself, and tests/servers.py

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402

from sweep.tracking import retries, secrets, store  # noqa: E402
from tests import servers  # noqa: E402

EPOCHS = 12
PER_EPOCH = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time_s")
FINAL = [f"final_{i}" for i in range(12)]  # train/test loss and accuracy, timings, peak memory: 12 in a job
PARAMS = 30  # the flattened config and the option names
ARTIFACT_BYTES = 20_000  # a learning-curve PNG is 20-40 KB


def job(client: MlflowClient, experiment_id: str, folder: Path, timed) -> int:
    """One job's writes through `timed(name, call)`; return the points it logged."""
    run = timed("create_run", lambda: client.create_run(experiment_id, tags={"sweep_role": "job"}))
    if run is None:
        return 0
    run_id, now = run.info.run_id, int(time.time() * 1000)
    params = [Param(f"param_{i}", str(i)) for i in range(PARAMS)]
    timed("log_batch params", lambda: client.log_batch(run_id, params=params))
    points = 0
    for epoch in range(1, EPOCHS + 1):
        metrics = [Metric(key, epoch / 10, now + epoch, epoch) for key in PER_EPOCH]
        points += len(metrics) if timed("log_batch epoch", lambda m=metrics: client.log_batch(run_id, metrics=m)) else 0
    finals = [Metric(key, 0.5, now, 0) for key in FINAL]
    points += len(finals) if timed("log_batch final", lambda: client.log_batch(run_id, metrics=finals)) else 0
    for name in ("accuracy.png", "loss.png"):
        timed("log_artifact", lambda n=name: client.log_artifact(run_id, str(folder / n), "plots"))
    timed("set_terminated", lambda: client.set_terminated(run_id, "FINISHED"))
    return points


def writer(uri: str, experiment_id: str, jobs: int, folder: str, barrier, results) -> None:
    """A writer process: wait for the others, run `jobs` jobs back to back, report what each request did."""
    import logging

    retried = Counter()

    class CountRetries(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            retried["retries"] += "Retrying" in record.getMessage()

    logging.getLogger("urllib3.connectionpool").addHandler(CountRetries())
    retries.apply_defaults()  # what a sweep's job runs with
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # no "View run at" line per run
    client, calls, errors = MlflowClient(uri), [], []

    def timed(name, call):
        started = time.perf_counter()
        try:
            result = call()
        except Exception as exc:  # noqa: BLE001 - counted and reported, the writer goes on
            errors.append(f"{name}: {str(exc).splitlines()[0][:200]}")
            return None
        calls.append((name, time.perf_counter() - started))
        return result if result is not None else True

    began, points = time.time(), 0
    try:
        client.search_experiments(max_results=1)  # connect (and load the store) before the clock starts
        barrier.wait(timeout=600)
        began = time.time()
        points = sum(job(client, experiment_id, Path(folder), timed) for _ in range(jobs))
    except Exception as exc:  # noqa: BLE001 - a writer that cannot start reports it instead of hanging the others
        errors.append(f"writer: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}")
        barrier.abort()
    results.put({"calls": calls, "errors": errors, "points": points, "began": began, "ended": time.time(), **retried})


def read_back(uri: str, experiment_id: str) -> Counter:
    """Count the stored points: per-epoch histories (steps seen once each), final metrics present."""
    client = MlflowClient(uri)
    runs = client.search_runs([experiment_id], max_results=50000)

    def count(run) -> Counter:
        found = Counter(final=sum(key in run.data.metrics for key in FINAL))
        for key in PER_EPOCH:
            steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
            found["unique"] += len(set(steps))
            found["duplicated"] += len(steps) - len(set(steps))
        return found

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(count, runs), Counter(runs=len(runs)))


def percentile(values: list, q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def load(uri: str, writers: int, jobs: int, label: str) -> tuple:
    """Run the writers against one store, print its figures; return (lost, logged, errors)."""
    experiment_id = store.prepare_experiment(uri, f"load-{store.new_sweep_id()}")  # migrated once, as sweep does
    folder = Path(tempfile.mkdtemp(prefix="load-artifacts-"))
    for name in ("accuracy.png", "loss.png"):
        (folder / name).write_bytes(os.urandom(ARTIFACT_BYTES))
    ctx = multiprocessing.get_context("spawn")  # no store, engine or session inherited from this process
    barrier, results = ctx.Barrier(writers), ctx.Queue()
    procs = [
        ctx.Process(target=writer, args=(uri, experiment_id, jobs, str(folder), barrier, results))
        for _ in range(writers)
    ]
    for proc in procs:
        proc.start()
    reports = [results.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    stored = read_back(uri, experiment_id)
    return summarize(label, uri, writers, jobs, reports, stored)


def summarize(label: str, uri: str, writers: int, jobs: int, reports: list, stored: Counter) -> tuple:
    calls = [c for r in reports for c in r["calls"]]
    errors = [e for r in reports for e in r["errors"]]
    wall = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    planned = writers * jobs * (EPOCHS * len(PER_EPOCH) + len(FINAL))
    lost = planned - stored["unique"] - stored["final"]
    latencies = [t for _, t in calls]
    print(f"{label}: {secrets.display_uri(uri)}, {writers} writers x {jobs} jobs of {EPOCHS} epochs")
    print(f"  {len(calls)} requests in {wall:.1f} s: {len(calls) / wall:.1f} requests/s")
    print(f"  latency p50 {1000 * percentile(latencies, 50):.0f} ms, p99 {1000 * percentile(latencies, 99):.0f} ms")
    for name in sorted({n for n, _ in calls}):
        times = [t for n, t in calls if n == name]
        print(
            f"    {name:18s} {len(times):5d} calls, p50 {1000 * percentile(times, 50):6.0f} ms, "
            f"p99 {1000 * percentile(times, 99):6.0f} ms"
        )
    locked = sum("database is locked" in e for e in errors)
    print(
        f"  'database is locked' errors: {locked}; other errors: {len(errors) - locked}; "
        f"retried requests: {sum(r.get('retries', 0) for r in reports)}"
    )
    for line in sorted(set(errors))[:5]:
        print(f"    {line}")
    print(f"  runs stored {stored['runs']} of {writers * jobs}; points duplicated {stored['duplicated']}")
    print(f"  {label}: {writers} writers: lost {lost} of {planned} points, {len(errors)} errors")
    return lost, planned, len(errors)


def team_server(root: Path):
    """Start PostgreSQL and the team server on it; return (url, a writer's login, what to stop)."""
    pg = servers.Postgres()
    pg.start()
    pg.run_init_script(servers.AUTH_DB_SCRIPT)
    auth = servers.Auth(pg.uri("mlflow_auth"))
    server = servers.MlflowServer(pg.create_database("mlflow"), root / "artifacts", root / "mlflow.log", auth, 2)
    server.start()
    login = {"MLFLOW_TRACKING_USERNAME": "writer", "MLFLOW_TRACKING_PASSWORD": f"writer-{os.urandom(8).hex()}"}
    servers.create_user(server.url, auth, *login.values())
    return server.url, login, lambda: (server.stop(), pg.close())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=16, help="writer processes (default: %(default)s)")
    parser.add_argument(
        "--jobs", type=int, default=4, help="jobs each writer logs, back to back (default: %(default)s)"
    )
    parser.add_argument("--uri", help="the store to load (default: a fresh SQLite store, then the team server)")
    args = parser.parse_args()
    totals = []
    if args.uri:
        totals.append(load(args.uri, args.writers, args.jobs, "store"))
    else:
        root = Path(tempfile.mkdtemp(prefix="sweep-load-"))
        totals.append(load(f"sqlite:///{root / 'mlflow.db'}", args.writers, args.jobs, "sqlite"))
        url, login, stop = team_server(root)
        try:
            os.environ.update(login)  # the writers inherit the login
            totals.append(load(url, args.writers, args.jobs, "server"))
        finally:
            stop()
    lost, planned, errors = (sum(t[i] for t in totals) for i in range(3))
    print(f"{args.writers} writers: lost {lost} of {planned} points, {errors} errors")


if __name__ == "__main__":
    main()
