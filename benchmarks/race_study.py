"""The real study both ways, in stores of their own: hydra/sweeper=race, and the exhaustive grid at max_seeds seeds.

Run through `python benchmarks/race.py --study [options]`; prints jobs used, wall time, the race's winner and whether
it lies in the exhaustive sweep's "indistinguishable from best" set (compare's ranking).

Then it replays the race's rules on the exhaustive sweep's runs (their values and weights hashes, seed by seed): a
job's training is deterministic for its config and seed (the race's runs and the exhaustive ones agree bit for bit),
so a replay is what a race with other settings would have done on this study, without training it again.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def indistinguishable(runs, keys: list, metric: str) -> set:
    """Cell names ranked best or indistinguishable from it (Welch + Holm, compare's ranking) on `metric`."""
    from sweep.analysis import stats
    from sweep.config import cells

    ranked = stats.ranked(runs.assign(test_accuracy=runs[metric].astype(float)), keys)
    keep = ranked[ranked["vs_best"].str.startswith(("best", "indistinguishable"))]
    return {cells.name(row) for row in keep[keys].astype(str).to_dict("records")}


def finished_outcomes(where: Path, metric: str) -> dict:
    """(cell, seed) -> the Outcome the race would read from the store's FINISHED run of that job."""
    from mlflow import MlflowClient

    from sweep.search.race_jobs import outcome
    from sweep.tracking import store

    uri = f"sqlite:///{where / 'mlflow.db'}"
    experiment = MlflowClient(uri).get_experiment_by_name("sweep").experiment_id
    runs = store.finished_runs(uri, experiment).values()
    return {(r.data.tags[store.TAG_CELL], int(r.data.params["train.seed"])): outcome(r, metric) for r in runs}


def print_replays(where: Path, args: argparse.Namespace, winner: str, race_jobs: int) -> None:
    """The race with other settings (sweep.search.race_loop), replayed on the exhaustive sweep's runs."""
    from sweep.search import race_loop
    from sweep.search.race_rules import Rules

    print("\nreplayed on the exhaustive sweep's runs (the same values, seed by seed):")
    found = finished_outcomes(where, Rules.metric)
    cells = sorted({cell for cell, _ in found})
    for min_seeds, twins in ((args.race_min_seeds, True), (args.race_min_seeds, False), (3, True), (3, False)):
        if min_seeds > args.seeds:
            continue
        rules = Rules(min_seeds=min_seeds, max_seeds=args.seeds, merge_twins=twins)
        race = race_loop.run(cells, rules, lambda round_, jobs: {job: found[job] for job in jobs})
        exhaustive = len(race.cells) * args.seeds
        same = f" (the race above, which used {race_jobs})" if (min_seeds, twins) == (args.race_min_seeds, True) else ""
        print(
            f"  min_seeds {min_seeds}, merge_twins {str(twins).lower()}{same}: {race.jobs} jobs "
            f"({100 * race.jobs / exhaustive:.0f}%), {len(race.twins)} twins, {len(race.alive)} left; "
            f"winner {race.best[0] if race.best else 'none'}"
            + (" (= the race's)" if race.best and race.best[0] == winner else "")
        )


def main(argv: list) -> None:
    """Race the grid, sweep it exhaustively, print the comparison."""
    args = parse(argv)
    common = [f"reg={args.regs}", f"act={args.acts}", f"data={args.data}", f"train.epochs={args.epochs}"]
    common += [f"data.limit={args.limit}"] if args.limit else []
    root = Path(tempfile.mkdtemp(prefix="bench-race-"))
    (root / "race").mkdir()
    (root / "exhaustive").mkdir()
    race_args = ["hydra/sweeper=race", f"hydra.sweeper.min_seeds={args.race_min_seeds}"]
    race_wall = timed(root / "race", *common, *race_args, f"hydra.sweeper.max_seeds={args.seeds}")
    full_wall = timed(root / "exhaustive", *common, f"train.seed=range({args.seeds})")
    parent, _, _ = store_runs(root / "race")
    _, full, keys = store_runs(root / "exhaustive")
    cells = len(args.regs.split(",")) * len(args.acts.split(","))
    race_jobs, full_jobs = int(parent.data.tags["race.jobs"]), len(full)
    winners = parent.data.tags["race.best"].split(" | ")
    print(f"\n== the study raced vs exhaustive ({' '.join(common)}; stores under {root}) ==")
    print(f"race: {race_jobs} jobs, {race_wall:.0f} s; stopped: {parent.data.tags['race.stop']}")
    print(f"exhaustive: {full_jobs} jobs ({cells} cells x {args.seeds} seeds), {full_wall:.0f} s")
    print(f"jobs used: {100 * race_jobs / full_jobs:.0f}% of the exhaustive; wall time {race_wall / full_wall:.0%}")
    print(f"race winner: {winners[0]}" + (f" (with {len(winners) - 1} more left in the race)" if winners[1:] else ""))
    twins = parent.data.tags.get("race.twins", "0")
    print(f"twins raced as one (bit-identical weights at every seed they had): {twins} cells")
    for metric in ("test_accuracy", "val_accuracy"):
        best_set = indistinguishable(full, keys, metric)
        inside = "yes" if winners[0] in best_set else "NO"
        print(
            f"winner in the exhaustive sweep's indistinguishable-from-best set on {metric} "
            f"({len(best_set)} cells): {inside}"
        )
    print_replays(root / "exhaustive", args, winners[0], race_jobs)
