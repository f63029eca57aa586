"""The real study both ways, in stores of their own: hydra/sweeper=race, and the exhaustive grid at max_seeds seeds.

Run through `python benchmarks/race.py --study [options]`; prints jobs used, wall time, the race's winner and whether
it lies in the exhaustive sweep's "indistinguishable from best" set (compare's ranking).

Then it replays the race's rules with other settings on the exhaustive sweep's runs (race_replay.py).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import race_replay

REGS = "none,dropout,batchnorm,l1,l2,dropout_batchnorm,batchnorm_l1,batchnorm_l2"
ACTS = "relu,leaky_relu,tanh,sigmoid"


def parse(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/race.py --study")
    parser.add_argument("--data", default="fashion_mnist")
    parser.add_argument("--limit", type=int, help="only the first N training images (to try it quickly)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--regs", default=REGS)
    parser.add_argument("--acts", default=ACTS)
    parser.add_argument("--race-min-seeds", type=int, default=2, help="round 0's seeds (default: %(default)s)")
    parser.add_argument("--race-max-jobs", type=int, help="the race's budget (hydra.sweeper.max_jobs; default none)")
    parser.add_argument("--exhaustive", metavar="DIR", help="reuse the exhaustive store an earlier --study left")
    parser.add_argument("--seeds", type=int, default=5, help="the exhaustive sweep's seeds = the race's max_seeds")
    return parser.parse_args(argv)


def timed(where: Path, *overrides: str) -> float:
    """Run `python -m sweep.train -m overrides` in `where` with a store there (output in its log); return seconds."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{where / 'mlflow.db'}")
    print(f"running python -m sweep.train -m {' '.join(overrides)} (output: {where / 'log.txt'})", flush=True)
    start = time.perf_counter()
    with open(where / "log.txt", "w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "sweep.train", "-m", *overrides],
            cwd=where,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        sys.exit(f"benchmark command failed ({done.returncode}); see {where / 'log.txt'}")
    return time.perf_counter() - start


def store_runs(where: Path):
    """The parent run, and the finished runs as compare reads them (a column per factor, val_accuracy added)."""
    import mlflow
    from mlflow import MlflowClient

    from sweep.analysis import design, query, tables

    uri = f"sqlite:///{where / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("sweep").experiment_id
    sweep_id = query.latest_sweep(client, experiment)
    parent = query.parent_run(client, experiment, sweep_id)
    jobs = query.job_runs(experiment)
    runs, found = design.build(jobs, sweep_id, query.planned_cells(parent), query.recorded_design(parent))
    every = mlflow.search_runs([experiment], filter_string="tags.sweep_role = 'job'", max_results=100000)
    val = every.set_index("run_id")["metrics.val_accuracy"]
    done = tables.finished(runs)
    return parent, done.assign(val_accuracy=done["run_id"].map(val)), found.keys


def parents_wall(where: Path) -> float:
    """Seconds from start to end of the store's parent runs, summed (a sweep resumed into a bigger one has two)."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{where / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("sweep").experiment_id
    parents = client.search_runs([experiment], "tags.sweep_role = 'parent'")
    return sum(p.info.end_time - p.info.start_time for p in parents) / 1000


def indistinguishable(runs, keys: list, metric: str) -> set:
    """Cell names ranked best or indistinguishable from it (Welch + Holm, compare's ranking) on `metric`."""
    from sweep.analysis import stats
    from sweep.config import cells

    ranked = stats.ranked(runs.assign(test_accuracy=runs[metric].astype(float)), keys)
    keep = ranked[ranked["vs_best"].str.startswith(("best", "indistinguishable"))]
    return {cells.name(row) for row in keep[keys].astype(str).to_dict("records")}


def best_sets_of(runs, keys: list) -> dict:
    """{metric: the cells indistinguishable from the best on it}, test and validation accuracy."""
    return {metric: indistinguishable(runs, keys, metric) for metric in ("test_accuracy", "val_accuracy")}


def print_replay(where: Path) -> None:
    """race.py --replay DIR: the replays on an exhaustive store that --study left, checked against its best sets."""
    _, full, keys = store_runs(where)
    best_sets = best_sets_of(full, keys)
    sizes = ", ".join(f"{metric} {len(cells)} cells" for metric, cells in best_sets.items())
    print(f"replayed on the runs of {where} (the same values, seed by seed; best sets: {sizes}):")
    print("\n".join(race_replay.lines(where, best_sets=best_sets)))


def main(argv: list) -> None:
    """Race the grid, sweep it exhaustively, print the comparison."""
    args = parse(argv)
    common = [f"reg={args.regs}", f"act={args.acts}", f"data={args.data}", f"train.epochs={args.epochs}"]
    common += [f"data.limit={args.limit}"] if args.limit else []
    root = Path(tempfile.mkdtemp(prefix="bench-race-"))
    (root / "race").mkdir()
    (root / "exhaustive").mkdir()
    race_args = ["hydra/sweeper=race", f"hydra.sweeper.min_seeds={args.race_min_seeds}"]
    race_args += [f"hydra.sweeper.max_jobs={args.race_max_jobs}"] if args.race_max_jobs else []
    race_wall = timed(root / "race", *common, *race_args, f"hydra.sweeper.max_seeds={args.seeds}")
    exhaustive = Path(args.exhaustive) if args.exhaustive else root / "exhaustive"
    if not args.exhaustive:
        full_wall = timed(exhaustive, *common, f"train.seed=range({args.seeds})")
    else:  # reused: both timed from parent run to parent run (a store extended by resuming has several)
        full_wall, race_wall = parents_wall(exhaustive), parents_wall(root / "race")
    _, full, keys = store_runs(exhaustive)
    parent, _, _ = store_runs(root / "race")
    cells = len(args.regs.split(",")) * len(args.acts.split(","))
    race_jobs, full_jobs = int(parent.data.tags["race.jobs"]), len(full)
    winners = parent.data.tags["race.best"].split(" | ")
    print(f"\n== the study raced vs exhaustive ({' '.join(common)}; stores under {root}) ==")
    print(f"race: {race_jobs} jobs, {race_wall:.0f} s; stopped: {parent.data.tags['race.stop']}")
    reused = f" (reused from {exhaustive}; both wall times are their parent runs', summed)" if args.exhaustive else ""
    print(f"exhaustive: {full_jobs} jobs ({cells} cells x {args.seeds} seeds), {full_wall:.0f} s{reused}")
    print(f"jobs used: {100 * race_jobs / full_jobs:.0f}% of the exhaustive; wall time {race_wall / full_wall:.0%}")
    print(f"race winner: {winners[0]}" + (f" (with {len(winners) - 1} more left in the race)" if winners[1:] else ""))
    twins = parent.data.tags.get("race.twins", "0")
    print(f"twins raced as one (bit-identical weights at every seed they had): {twins} cells")
    best_sets = best_sets_of(full, keys)
    for metric, best_set in best_sets.items():
        inside = "yes" if winners[0] in best_set else "NO"
        print(
            f"winner in the exhaustive sweep's indistinguishable-from-best set on {metric} "
            f"({len(best_set)} cells): {inside}"
        )
    print("\nreplayed on the exhaustive sweep's runs (the same values, seed by seed; race_replay.py):")
    print("\n".join(race_replay.lines(exhaustive, args.seeds, winners[0], best_sets)))
