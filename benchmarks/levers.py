"""The speed levers of issue 18, each measured on its own, side by side in one process (bench.py --levers).

For each layer stack, the 4 activations' cells train (same data, seed, batches; one intra-op thread, a worker's
share of 2 cores under the default 2-worker sweep) four ways: alone with a new program each (a sweep before issue
18), alone with reused programs (a later seed of the same cells: sweep.training.programs), fused in one program
(sweep.training.fused), and fused with a reused program. Each way's wall time covers build, fit and evaluation.
"""

import statistics
import time

from breakdown import peak_gflops
from hydra import compose, initialize_config_dir

ACTS = ["relu", "leaky_relu", "tanh", "sigmoid"]


def _ways(cfgs, ds, shape, epochs_timer):
    """Wall time, each cell's epoch times and test accuracies, for each of the four ways."""
    import keras

    from sweep.config import cells
    from sweep.training import loop, model, programs
    from sweep.training.evaluate import evaluate, evaluate_cells

    def built(cfg, seed):
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(seed)
        return model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, shape)

    def fit(nets, seed, key):
        timer = timer_class()
        train = cfgs[0].train.copy()
        train.seed = seed
        fitted = loop.fit(nets, ds.x_train, ds.y_train, train, cfgs[0].speed, [timer], 0, key=key)
        return fitted, timer.times

    results = {}
    timer_class = epochs_timer()
    for way, fused, seed in [
        ("alone", False, 1),
        ("alone, reused", False, 2),
        ("fused", True, 1),
        ("fused, reused", True, 2),
    ]:
        if seed == 1:
            programs.clear()  # a new program for each cell (or group); seed 2 then reuses them
        start, times, tests = time.perf_counter(), [], []
        if fused:
            nets = [built(cfg, seed) for cfg in cfgs]
            fitted, epochs = fit(nets, seed, tuple(cells.cell_hash(c) for c in cfgs))
            histories = [{"val_accuracy": [0.0]}] * len(cfgs)
            tests = [f["test_accuracy"] for f in evaluate_cells(fitted.model, ds, histories, 0.0, cfgs[0].speed)]
            times = [epochs] * len(cfgs)
        else:
            for cfg in cfgs:
                net = built(cfg, seed)
                fitted, epochs = fit([net], seed, (cells.cell_hash(cfg),))
                tests.append(evaluate(fitted.model, ds, fitted.history, 0.0, cfg.speed)["test_accuracy"])
                times.append(epochs)
        results[way] = (time.perf_counter() - start, times, tests)
    return results


def levers(conf_dir: str, data_args: list, epochs: int, epochs_timer) -> None:
    """Print the four ways' wall times and ratios per layer stack, steady epochs and GFLOP/s against the peak."""
    from sweep.process import quiet

    quiet.import_tensorflow()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from sweep import data
    from sweep.config import cost, schema  # noqa: F401 - importing schema registers it with Hydra

    print(f"\n== levers: 4 cells (each activation) per stack, {epochs} epochs, 1 thread ({' '.join(data_args)}) ==")
    print(f"peak estimate, one core: {peak_gflops(1):.0f} GFLOP/s")
    print(
        f"{'stack':10} {'way':14} {'wall s':>7} {'vs alone':>8} {'1st epoch':>9} {'steady':>7} {'GFLOP/s':>7}  test acc"
    )
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        for reg in ("none", "batchnorm", "dropout"):
            cfgs = [compose("config", [f"reg={reg}", f"act={a}", f"train.epochs={epochs}", *data_args]) for a in ACTS]
            shape = data.shape(data.raw(cfgs[0].data.name, cfgs[0].data.path))
            ds = data.load(cfgs[0].data.name, cfgs[0].data.path, cfgs[0].data.limit)
            flops = sum(cost.of_cell(c).epoch for c in cfgs)
            results = _ways(cfgs, ds, shape, epochs_timer)
            base = results["alone"][0]
            for way, (wall, times, tests) in results.items():
                fused = way.startswith("fused")
                first = times[0][0] if fused else sum(t[0] for t in times)
                steady = statistics.median(times[0][1:]) if fused else sum(statistics.median(t[1:]) for t in times)
                accs = " ".join(f"{a:.4f}" for a in tests)
                print(
                    f"{reg:10} {way:14} {wall:7.1f} {base / wall:7.2f}x {first:9.2f} {steady:7.3f} "
                    f"{flops / steady / 1e9:7.1f}  {accs}"
                )
