"""Benchmark: random search, TPE and TPE with ASHA pruning (hydra/sweeper=search) at the same trial count.

    python benchmarks/search.py                       # full Fashion-MNIST, 12 epochs, 3 search seeds, 30 trials each
    python benchmarks/search.py --limit 10000         # the first 10,000 training images: minutes, not hours

Space: act x reg x log learning rate [1e-4, 1e-1] x hidden width {64, 128, 256} (both hidden layers). Every search is
a real `python -m sweep.train -m hydra/sweeper=search ...` in a folder of its own; the figures are read back from its
MLflow runs. Prints figures; it asserts nothing. Definitions, as printed:
- best: the best validation accuracy of a full-length (complete) trial; test: that trial's test accuracy.
- epochs: every epoch trained by every trial, pruned ones included.
- utilization U: busy worker-seconds (the trials' runs, start to end) / (workers x the search's wall time, from the
  first trial's start to the last one's end). "batch-wise" is what the same trial durations would have given had the
  trials been launched n_jobs at a time, each batch waiting for its slowest (how Hydra's launchers run a sweep).
- P: the epochs TPE+asha had spent (all its trials, by the epochs' timestamps) when a complete trial first reached
  random's median best, as a share of the epochs random spent (median over seeds).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPACE = [
    "act=glob(*)",
    "reg=glob(*)",
    "train.learning_rate=tag(log,interval(1e-4,1e-1))",
    "model.hidden=choice([64,64],[128,128],[256,256])",
]
METHODS = {
    "random": ["hydra.sweeper.sampler=random"],
    "TPE": ["hydra.sweeper.sampler=tpe"],
    "TPE+asha": ["hydra.sweeper.sampler=tpe", "hydra.sweeper.pruner=asha"],  # + --asha-min-resource, --asha-reduction
}


def search(where: Path, method: str, seed: int, args: argparse.Namespace) -> float:
    """Run one search in `where`; return its wall time."""
    where.mkdir(parents=True)
    overrides = [*SPACE, *METHODS[method], f"hydra.sweeper.seed={seed}", f"hydra.sweeper.n_trials={args.trials}"]
    if method != "random" and args.startup is not None:  # TPE's random start (Optuna's default: 10 trials)
        overrides += [f"+hydra.sweeper.sampler_options.n_startup_trials={args.startup}"]
    if method == "TPE+asha":
        overrides += [f"+hydra.sweeper.pruner_options.min_resource={args.asha_min_resource}"]
        overrides += [f"+hydra.sweeper.pruner_options.reduction_factor={args.asha_reduction}"]
    overrides += ["data=fashion_mnist", f"train.epochs={args.epochs}", f"hydra.launcher.n_jobs={args.n_jobs}"]
    overrides += [f"data.limit={args.limit}"] if args.limit else []
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{where / 'mlflow.db'}", PYTHONPATH=str(REPO / "src"))
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "sweep.train", "-m", "hydra/sweeper=search", *overrides]
    done = subprocess.run(cmd, cwd=where, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"search failed ({method}, seed {seed}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def trials(where: Path) -> list:
    """Every trial run of the search in `where`: state, val/test accuracy, epoch timestamps, start and end."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{where / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("sweep").experiment_id
    out = []
    for run in client.search_runs([experiment], "tags.sweep_role = 'job'", max_results=10000):
        epochs = sorted(m.timestamp for m in client.get_metric_history(run.info.run_id, "val_accuracy"))
        out.append(
            {
                "complete": run.info.status == "FINISHED" and "pruned_at_epoch" not in run.data.tags,
                "val": run.data.metrics.get("val_accuracy"),
                "test": run.data.metrics.get("test_accuracy"),
                "epochs": epochs,
                "start": run.info.start_time,
                "end": run.info.end_time,
            }
        )
    return out


def figures(runs: list, workers: int) -> dict:
    """Best (complete trials only), its test accuracy, epochs spent, measured and batch-wise utilization."""
    done = [r for r in runs if r["complete"]]
    best = max(done, key=lambda r: r["val"])
    busy = sum(r["end"] - r["start"] for r in runs)
    wall = max(r["end"] for r in runs) - min(r["start"] for r in runs)
    durations = [r["end"] - r["start"] for r in sorted(runs, key=lambda r: r["start"])]
    batches = sum(max(durations[i : i + workers]) for i in range(0, len(durations), workers))
    return {
        "best": best["val"],
        "test": best["test"],
        "epochs": sum(len(r["epochs"]) for r in runs),
        "util": busy / (workers * wall),
        "batchwise": busy / (workers * batches),
        "runs": runs,
    }


def epochs_to_reach(runs: list, target: float):
    """Epochs spent by all trials when a complete trial first reached `target` (None: never)."""
    reached = [r["end"] for r in runs if r["complete"] and r["val"] >= target]
    if not reached:
        return None
    when = min(reached)
    return sum(1 for r in runs for t in r["epochs"] if t <= when)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, help="use only the first N training images")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--trials", type=int, default=30, help="trials per search (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2, help="workers (trials at once)")
    parser.add_argument("--startup", type=int, help="TPE's random trials before it models (default: Optuna's 10)")
    parser.add_argument("--asha-min-resource", type=int, default=3, help="epochs before ASHA's first rung")
    parser.add_argument("--asha-reduction", type=int, default=2, help="ASHA keeps 1 in this many at each rung")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-search-"))
    data = f"data.limit={args.limit}" if args.limit else "full data"
    shape = f"{args.trials} trials x {args.epochs} epochs, {args.seeds} seeds"
    asha = f"asha min_resource={args.asha_min_resource} reduction_factor={args.asha_reduction}"
    asha += f", TPE n_startup_trials={args.startup if args.startup is not None else 10}"
    print(f"search benchmark: {shape}, {data}, {args.n_jobs} workers, {asha}")
    results = {m: [] for m in METHODS}
    for seed in range(args.seeds):
        for method in METHODS:
            where = root / f"{method}-{seed}"
            wall = search(where, method, seed, args)
            results[method].append({**figures(trials(where), args.n_jobs), "wall": wall})
            r = results[method][-1]
            print(
                f"{method:9} seed {seed}: best val {r['best']:.4f} (test {r['test']:.4f}), {r['epochs']:4d} epochs, "
                f"utilization {r['util']:.0%} (batch-wise {r['batchwise']:.0%}), {wall:.0f} s",
                flush=True,
            )
    report(results)


def report(results: dict) -> None:
    """Medians over seeds per method, then the last line: P and U."""
    print(f"\n{'method':9} {'best val':>9} {'its test':>9} {'epochs':>7} {'util':>6} {'batch-wise':>10} {'wall s':>7}")
    for method, rs in results.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("best", "test", "epochs", "util", "batchwise", "wall")}
        print(
            f"{method:9} {med['best']:9.4f} {med['test']:9.4f} {med['epochs']:7.0f} {med['util']:6.0%} "
            f"{med['batchwise']:10.0%} {med['wall']:7.0f}"
        )
    target = statistics.median(r["best"] for r in results["random"])
    random_epochs = statistics.median(r["epochs"] for r in results["random"])
    needed = [epochs_to_reach(r["runs"], target) for r in results["TPE+asha"]]
    missed = sum(1 for n in needed if n is None)
    shares = sorted(100 * (n if n is not None else float("inf")) / random_epochs for n in needed)
    print(f"random's median best {target:.4f}; TPE+asha needed {needed} epochs, random spent {random_epochs:.0f}")
    if missed:
        print(f"TPE+asha never reached it in {missed} of {len(needed)} seeds (counted as infinitely many epochs)")
    p = statistics.median(shares)
    u = statistics.median(r["util"] for r in results["TPE+asha"])
    print(f"TPE+asha reached random's median best with {p:.0f}% of its epochs; utilization {u:.0%}")


if __name__ == "__main__":
    main()
