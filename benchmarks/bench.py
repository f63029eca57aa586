"""Benchmark: the study's own Keras loop against sweep's jobs and sweep, on the same data and machine.

    python benchmarks/bench.py                      # per-epoch, one job's breakdown, compare over 1,000 runs
    python benchmarks/bench.py --limit 10000        # a quick look on the first 10,000 training images
    python benchmarks/bench.py --sweep sample       # + 8 cells x 12 epochs both ways, projected to 32 cells
    python benchmarks/bench.py --sweep full         # + all 32 cells x 12 epochs both ways (about 30 minutes)
    python benchmarks/bench.py --sweep full --seeds 1 5 --fuse 4 1  # + 160 jobs (study: projected), fuse=1
    python benchmarks/bench.py --sweep full --regs none,batchnorm --seeds 1 5 --fuse 4 1   # 8 cells that fuse
    python benchmarks/bench.py --levers --skip job compare --limit 10000   # issue 18's levers, each on its own
    python benchmarks/bench.py --model cnn --limit 15000 --epochs 3   # only the 4-cell cnn sample, both ways
    python benchmarks/bench.py --model cnn --sweep-args speed.jit_compile=false   # a lever: the sweep's command only

Prints figures; it asserts nothing. Fashion-MNIST (Debian's files) by default: `--data mnist` uses Keras' loader.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import product
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REGS = ["none", "dropout", "batchnorm", "l1", "l2", "dropout_batchnorm", "batchnorm_l1", "batchnorm_l2"]
ACTS = ["relu", "leaky_relu", "tanh", "sigmoid"]
SAMPLE = [(reg, "relu") for reg in REGS]  # every regularizer once; a reg x act product, so sweep runs the same cells
CNN_SAMPLE = [("none", act) for act in ACTS]  # model=cnn: every activation once


def sh(*args: str, env: dict = None) -> tuple:
    """Run a command, return (wall seconds, completed process); fail loudly if it fails."""
    start = time.perf_counter()
    done = subprocess.run(args, cwd=env["WHERE"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(args)}\n{done.stderr[-3000:]}")
    return time.perf_counter() - start, done


def epoch_timer() -> type:
    """A Keras callback class recording each epoch's wall time in `.times` (Keras imported only when asked)."""
    import keras

    class EpochTimes(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list = []

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            self.times.append(time.perf_counter() - self.started)

    return EpochTimes


def study_loop(cells, epochs: int, data_args: list) -> list:
    """The notebook's loop, back to back in this process: compile defaults, fit(validation_split), evaluate."""
    from hydra import compose, initialize_config_dir

    from sweep.process import quiet

    quiet.import_tensorflow()  # before sweep.model imports Keras: TensorFlow's start-up chatter stays muted

    from sweep import data
    from sweep.config import schema  # noqa: F401 - importing schema registers it with Hydra
    from sweep.training import model

    EpochTimes = epoch_timer()
    results = []
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        for reg, act in cells:
            cfg = compose("config", overrides=[f"reg={reg}", f"act={act}", "speed=study", *data_args])
            ds = data.load(cfg.data.name, cfg.data.path, cfg.data.limit)
            start, timer = time.perf_counter(), EpochTimes()
            shape = data.shape(data.raw(cfg.data.name, cfg.data.path))
            net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, shape)  # = the notebook's compile
            net.fit(ds.x_train, ds.y_train, epochs=epochs, validation_split=0.1, verbose=0, callbacks=[timer])
            net.evaluate(ds.x_train, ds.y_train, verbose=0)
            test_acc = net.evaluate(ds.x_test, ds.y_test, verbose=0)[1]
            results.append(
                {"cell": (reg, act), "wall": time.perf_counter() - start, "epochs": timer.times, "test": test_acc}
            )
    return results


def job_runs(uri: str) -> list:
    """Every job run of the benchmark's store with its metrics and epoch times."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("sweep")
    runs = client.search_runs([experiment.experiment_id], "tags.sweep_role = 'job'", max_results=1000)
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "epoch_time_s")
        run.epoch_times = [m.value for m in sorted(history, key=lambda m: m.step)]
    return runs


def env_for(where: Path) -> dict:
    return dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{where / 'mlflow.db'}", WHERE=str(where))


def one_job(data_args: list, epochs: int) -> None:
    """Per-epoch time and one job's breakdown, study loop vs sweep's single job (one process each)."""
    where = Path(tempfile.mkdtemp(prefix="bench-job-"))
    env = env_for(where)
    imp, _ = sh(sys.executable, "-c", "from sweep.process import quiet; quiet.import_tensorflow()", env=env)
    wall, _ = sh(sys.executable, "-m", "sweep.train", *data_args, f"train.epochs={epochs}", env=env)
    (run,) = job_runs(env["MLFLOW_TRACKING_URI"])
    m = run.data.metrics
    study = study_loop([("none", "relu")], epochs, data_args + [f"train.epochs={epochs}"])[0]
    s_epoch, j_epoch = statistics.median(study["epochs"][1:]), statistics.median(run.epoch_times[1:])
    tracking = sum(v for k, v in m.items() if k.startswith("time_log_"))
    print(f"\n== one job: reg=none act=relu, {epochs} epochs ({' '.join(data_args)}) ==")
    print(
        f"per epoch (median of epochs 2..{epochs}): study loop {s_epoch:.3f} s, sweep job {j_epoch:.3f} s "
        f"-> {s_epoch / j_epoch:.2f}x"
    )
    print(f"breakdown of the sweep job (wall {wall:.1f} s): import TensorFlow {imp:.1f} s", end="")
    for phase in (
        "data",
        "build",
        "fit",
        "evaluate",
        "log_params",
        "log_metrics",
        "log_plots",
        "log_config",
        "log_model",
    ):
        print(f", {phase} {m.get(f'time_{phase}_s', float('nan')):.2f} s", end="")
    job_time = sum(v for k, v in m.items() if k.startswith("time_"))
    print(
        f"\ntracking: {tracking:.2f} s = {100 * tracking / job_time:.1f}% of the job's {job_time:.1f} s "
        f"(per-epoch metrics are logged asynchronously inside fit)"
    )
    print(f"peak RSS of the job process: {m['peak_rss_mb']:.0f} MiB")
    print(f"test accuracy: study loop {study['test']:.4f}, sweep job {m['test_accuracy']:.4f}")


def sweep(cells, data_args: list, epochs: int, seed_counts: list, fuses: list, extra: tuple = ()) -> None:
    """The same cells both ways: the study's loop back to back, then sweep's default multirun.

    The study's loop runs once; sweep runs for each count of seeds with each `fuse` (the first only for several
    seeds, whose study time is projected: the study's measured loop once per seed); `extra` goes to sweep only.
    """
    args = data_args + [f"train.epochs={epochs}"]
    study = study_loop(cells, epochs, args)
    for seeds in seed_counts:
        for fuse in fuses if seeds == 1 else fuses[:1]:
            one_sweep(cells, study, args, seeds, fuse, extra)


def accuracy_lines(study: list, runs: list) -> list:
    """Per cell: the study loop's test accuracy, the sweep's at seed 0 and over its seeds; how far apart they are.

    The same seed gives every cell the same batch order, so one seed's cells share its luck: the differences are
    judged against the sweep's own seed-to-seed spread, cell by cell, not against each other.
    """
    by_cell = {}
    for r in runs:
        by_cell.setdefault((r.data.params["reg"], r.data.params["act"]), {})[int(r.data.params["train.seed"])] = float(
            r.data.metrics["test_accuracy"]
        )
    seeds = max(len(v) for v in by_cell.values())
    out = [f"{'cell':36} {'study test':>10} {'sweep test':>10}" + (f" {'sweep mean ± sd':>17}" if seeds > 1 else "")]
    diffs, inside = [], 0
    for result in study:
        got = by_cell[result["cell"]]
        values = np.array([got[s] for s in sorted(got)])
        line = f"{'reg={} act={}'.format(*result['cell']):36} {result['test']:10.4f} {got[min(got)]:10.4f}"
        if seeds > 1:
            sd = values.std(ddof=1)
            line += f" {values.mean():10.4f} ± {sd:.4f}"
            inside += abs(values.mean() - result["test"]) <= 2 * sd * np.sqrt(1 + 1 / len(values))
        diffs.append(values.mean() - result["test"])
        out.append(line)
    d = np.array(diffs)
    out.append(
        f"test accuracy, sweep{' (mean over seeds)' if seeds > 1 else ''} - study loop: mean {d.mean():+.4f}, "
        f"range {d.min():+.4f} .. {d.max():+.4f} over {len(d)} cells"
    )
    if seeds > 1:
        out.append(
            f"the study loop's one run lies within 2 sd of a new run of the sweep's cell (its {seeds} seeds' sd) in "
            f"{inside} of {len(d)} cells"
        )
    return out


def one_sweep(cells, study: list, args: list, seeds: int, fuse: int, extra: tuple = ()) -> None:
    """One sweep command against the study's measured loop: per-cell accuracies, the breakdown, the ratio."""
    from breakdown import breakdown

    regs, acts = sorted({r for r, _ in cells}), sorted({a for _, a in cells})
    seeded = [f"train.seed=range({seeds})"] if seeds > 1 else []
    command = [f"reg={','.join(regs)}", f"act={','.join(acts)}", *seeded, *args, f"hydra.launcher.fuse={fuse}"]
    command += extra
    where = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    started = time.time()
    wall, _ = sh(sys.executable, "-m", "sweep.train", "-m", *command, env=env_for(where))
    runs = job_runs(env_for(where)["MLFLOW_TRACKING_URI"])
    print(f"\n== sweep: {len(cells)} cells x {seeds} seed(s), fuse={fuse}: {len(runs)} runs ==")
    print(f"command: python -m sweep.train -m {' '.join(command)}")
    for line in accuracy_lines(study, runs):
        print(line)
    means = [np.mean([r["test"] for r in study]), np.mean([float(r.data.metrics["test_accuracy"]) for r in runs])]
    print("mean test accuracy: study loop {:.4f}, sweep {:.4f}".format(*means))
    breakdown(runs, started, wall, str(REPO / "conf"), args)
    study_all = sum(r["wall"] for r in study) * seeds
    label = f"{seeds} seeds projected from the one measured here" if seeds > 1 else "measured"
    print(f"study loop: {study_all:.0f} s for {len(cells) * seeds} jobs ({label}); sweep: {wall:.0f} s, whole command")
    if len(cells) < 32:
        print(f"projected to 32 cells: study {study_all * 32 / len(cells):.0f} s, sweep {wall * 32 / len(cells):.0f} s")
    print(f"SWEEP RATIO (study loop / sweep, same jobs, fuse={fuse}): {study_all / wall:.2f}x")


def compare_1000(n: int = 1000) -> None:
    """compare over n synthetic runs of one sweep (generated here) on SQLite: wall time of the command."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    where = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    env = env_for(where)
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    start = time.perf_counter()
    experiment = client.create_experiment("sweep", artifact_location=(where / "artifacts").as_uri())
    tags = {"sweep_id": "bench", "sweep_role": "parent", "sweep.factors": "reg,act"}
    parent = client.create_run(experiment, tags=tags).info.run_id
    cells, now = [], int(time.time() * 1000)
    grid = [(reg, act, seed) for seed in range(n // 32 + 1) for reg, act in product(REGS, ACTS)][:n]
    for reg, act, seed in grid:
        cell, digest = f"reg={reg} act={act}", f"{reg}-{act}-{seed}"
        name = f"{cell} train.seed={seed}"
        cells.append({"cell": cell, "run": name, "cell_hash": f"{reg}-{act}", "config_hash": digest, "retrain": False})
        run = client.create_run(experiment, run_name=name, tags={"mlflow.parentRunId": parent})
        tags = {
            "sweep_id": "bench",
            "sweep_role": "job",
            "cell": cell,
            "cell_hash": f"{reg}-{act}",
            "config_hash": digest,
        }
        params = {"reg": reg, "act": act, "train.seed": seed, "model.reg_at": "input", "train.epochs": 12}
        metrics = {"test_accuracy": 0.97 + 0.001 * (seed % 5), "train_accuracy": 0.99, "best_epoch": 10}
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
            params=[Param(k, str(v)) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        client.set_terminated(run.info.run_id)
    client.log_dict(parent, {"cells": cells}, "sweep/planned_cells.json")
    design = {
        "swept": ["reg", "act", "train.seed"],
        "factors": ["reg", "act"],
        "baseline": {"reg": "none", "act": "relu"},
    }
    client.log_dict(parent, design, "sweep/design.json")
    client.set_terminated(parent)
    made = time.perf_counter() - start
    wall, done = sh(sys.executable, "-m", "sweep.compare", "--out", str(where / "reports"), env=env)
    print(f"\n== compare over {n} runs (SQLite; generated in {made:.0f} s) ==")
    print(f"python -m sweep.compare: {wall:.2f} s wall, whole command ({done.stdout.splitlines()[0]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="fashion_mnist", choices=["fashion_mnist", "mnist"])
    parser.add_argument("--limit", type=int, help="use only the first N training images")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--sweep", choices=["none", "sample", "full"], default="none")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="seeds per cell of each sweep (study: one)")
    parser.add_argument("--fuse", type=int, nargs="+", default=[4], help="hydra.launcher.fuse values to run")
    parser.add_argument("--levers", action="store_true", help="fused and reused programs against cells alone")
    parser.add_argument("--regs", help="with --sweep full: only these regularizers (comma-separated), every act")
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp", help="cnn: the 4-cell cnn sample only")
    parser.add_argument("--sweep-args", nargs="*", default=[], help="overrides for the sweep's command only")
    parser.add_argument("--skip", nargs="*", default=[], choices=["job", "compare"], help="parts to leave out")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: per-epoch figures leave out the first (compiling) epoch")
    data_args = [f"data={args.data}"] + ([f"data.limit={args.limit}"] if args.limit else [])
    print(f"benchmark on {os.cpu_count()} cores, {' '.join(data_args)}")
    if args.model == "cnn":  # the per-job, compare and lever parts measure the MLP's paths: the cnn sample only
        return sweep(CNN_SAMPLE, data_args + ["model=cnn"], args.epochs, args.seeds, args.fuse, args.sweep_args)
    if "job" not in args.skip:
        one_job(data_args, args.epochs)
    if "compare" not in args.skip:
        compare_1000()
    if args.levers:
        from levers import levers

        levers(str(REPO / "conf"), data_args, args.epochs, epoch_timer)
    if args.sweep != "none":
        regs = args.regs.split(",") if args.regs else REGS
        cells = SAMPLE if args.sweep == "sample" else list(product(regs, ACTS))
        sweep(cells, data_args, args.epochs, args.seeds, args.fuse, args.sweep_args)


if __name__ == "__main__":
    main()
