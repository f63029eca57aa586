"""Fused training and reused programs compute what separate training does; how the launcher groups and orders jobs."""

import keras
import numpy as np
import pytest

from sweep import data
from sweep.config import cost
from sweep.launch import groups
from sweep.training import loop, model, programs
from tests.conftest import STUDY_SHAPE, compose_cfg
from tests.helpers import all_runs, by_role, run_module

ACTS = ["relu", "tanh", "sigmoid", "leaky_relu"]


@pytest.fixture(scope="module")
def images(fashion_raw):
    return data.normalize(fashion_raw.x_train[:1000]), fashion_raw.y_train[:1000]


def built(cfg):
    """A cell's net as a job builds it (sweep.training.steps.build): Keras' state reset, seeded."""
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(cfg.train.seed)
    return model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)


def cells(reg, n, *extra):
    """`n` cells of one reg that may train together: another activation each, two learning rates."""
    rates = ["0.001", "0.003"]
    return [
        compose_cfg(f"reg={reg}", f"act={a}", f"train.learning_rate={rates[i % 2]}", *extra)
        for i, a in enumerate(ACTS[:n])
    ]


def separately_and_fused(cfgs, x, y):
    alone = []
    for cfg in cfgs:
        net = built(cfg)
        alone.append((net, loop.fit([net], x, y, cfg.train, cfg.speed, callbacks=[], verbose=0).history))
    nets = [built(cfg) for cfg in cfgs]
    fused = loop.fit(nets, x, y, cfgs[0].train, cfgs[0].speed, callbacks=[], verbose=0).history
    return alone, nets, fused


def test_fused_cells_take_the_same_first_step_as_each_alone(images):
    cfgs = cells("dropout_batchnorm", 3, "train.epochs=1")  # BatchNormalization's statistics, HashDropout's seeds
    x, y = (a[:36] for a in images)  # 32 training images after the split: exactly one Adam step of 32
    alone, nets, fused = separately_and_fused(cfgs, x, y)
    for i, ((net, history), mine) in enumerate(zip(alone, nets, strict=True)):
        assert len(mine.weights) == len(net.weights)
        for ours, theirs in zip(mine.weights, net.weights, strict=True):
            np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-6, err_msg=ours.path)
        for key, values in history.items():
            np.testing.assert_allclose(fused[f"{key}_{i}"], values, rtol=1e-4, err_msg=key)
    first = [np.asarray(net.weights[-2]) for net, _ in alone]
    assert not np.allclose(first[0], first[1])  # the cells differ: the comparison can fail


def test_fused_cells_train_as_each_alone_for_two_epochs(images):
    cfgs = cells("l2", 2, "train.epochs=2")  # the layers' penalties, each net's own
    alone, _, fused = separately_and_fused(cfgs, *images)
    for i, (_, history) in enumerate(alone):
        for key in ("accuracy", "val_accuracy", "loss", "val_loss"):  # far inside seed noise (~1e-2)
            np.testing.assert_allclose(fused[f"{key}_{i}"], history[key], rtol=2e-3, atol=2e-3, err_msg=key)


def test_a_reused_program_computes_what_a_new_one_does(images):
    programs.clear()
    cfg = compose_cfg("reg=dropout_batchnorm", "train.epochs=1")
    first = loop.fit([built(cfg)], *images, cfg.train, cfg.speed, callbacks=[], verbose=0, key=("cell",))
    other = compose_cfg("reg=dropout_batchnorm", "train.epochs=1", "train.seed=7")  # another seed, the same cell
    net = built(other)
    again = loop.fit([net], *images, other.train, other.speed, callbacks=[], verbose=0, key=("cell",))
    assert again.model is first.model  # no second trace or compile
    fresh = built(other)
    new = loop.fit([fresh], *images, other.train, other.speed, callbacks=[], verbose=0)
    assert again.history == new.history
    for ours, theirs in zip(net.weights, fresh.weights, strict=True):  # copied back into the job's own net
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs), err_msg=ours.path)
    programs.clear()


def test_the_costliest_groups_go_first_and_every_worker_gets_one():
    regs = {r: compose_cfg(f"reg={r}", "data=fashion_mnist") for r in ("none", "batchnorm")}
    jobs = [[f"reg={r}", f"act={a}"] for r in regs for a in ACTS]
    asked = []

    def compose(overrides):
        asked.append(tuple(overrides))
        return regs[overrides[0].split("=")[1]]

    planned = groups.plan(jobs, fuse=4, workers=2, compose=compose)
    assert planned == [[4, 5, 6, 7], [0, 1, 2, 3]]  # BatchNormalization's cells cost more: first
    assert len(asked) == 2  # one config per layout, not per job
    assert groups.plan(jobs[:4], fuse=4, workers=2, compose=compose) == [[0, 2], [1, 3]]  # halved: no idle worker
    assert groups.plan(jobs, fuse=1, workers=2, compose=compose) == [[i] for i in (4, 5, 6, 7, 0, 1, 2, 3)]
    seeded = [[*job, f"train.seed={seed}"] for job in jobs[:4] for seed in (0, 1)]  # the basic sweeper's order
    # seed after seed in one task; the costliest task's seeds split until there are 3 tasks a worker
    assert groups.plan(seeded, fuse=2, workers=1, compose=compose) == [[2, 6, 3, 7], [0, 4], [1, 5]]
    five = [[*job, f"train.seed={seed}"] for job in jobs for seed in range(5)]  # 2 stacks x 4 acts x 5 seeds
    planned = groups.plan(five, fuse=4, workers=2, compose=compose)
    assert len(planned) == 6 and sorted(i for task in planned for i in task) == list(range(40))
    for task in planned:  # each task: one stack's 4 cells, seed after seed
        assert len({five[i][0] for i in task}) == 1 and len(task) % 4 == 0
        seeds = [five[i][2] for i in task]
        assert seeds == sorted(seeds) and all(len(set(seeds[k : k + 4])) == 1 for k in range(0, len(seeds), 4))
    first = [five[i][0] for i in planned[0]]
    assert set(first) == {"reg=batchnorm"} and len(planned[0]) == 8  # the costliest: 2 of BatchNormalization's seeds
    keras_loop = compose_cfg("reg=none", "data=fashion_mnist", "speed.loop=keras")

    assert groups.plan(jobs[:2], fuse=4, workers=1, compose=lambda o: keras_loop) == [[0], [1]]  # cannot fuse


def test_a_cells_operations_count_its_dense_products():
    plain, bn = (compose_cfg(f"reg={r}", "data=fashion_mnist") for r in ("none", "batchnorm"))
    forward = 2.0 * (784 * 128 + 128 * 128 + 128 * 10)
    assert cost.per_image(plain, (28, 28), 10) == (forward, forward + forward + forward - 2.0 * 784 * 128)
    assert cost.per_image(bn, (28, 28), 10)[1] == 3 * forward  # the gradient through the first layer too
    flops = cost.flops(plain, (28, 28), 10, n_train=60000, n_test=10000)
    assert flops.epoch == 54000 * (3 * forward - 2.0 * 784 * 128) + 6000 * forward
    assert flops.total == plain.train.epochs * flops.epoch + 70000 * forward


@pytest.mark.slow
def test_a_fused_sweep_without_a_tracking_uri_uses_the_launch_dirs_store(tmp_path, fashion_small, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # the README's first command: nothing set, <launch dir>/mlruns
    args = [
        "-m",
        "reg=none",
        "act=relu,tanh,sigmoid,leaky_relu",
        "hydra.launcher.n_jobs=2",
        f"data.path={fashion_small}",
    ]
    args += ["data=fashion_mnist", "train.epochs=1"]  # two workers, two cells fused in each
    done = run_module("sweep.train", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert not list(tmp_path.glob("*.db"))  # MLflow's own default store (./mlflow.db) was never written
    jobs = by_role(all_runs(uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"), "job")
    assert len(jobs) == 4 and {j.data.tags["sweep.fused_cells"] for j in jobs} == {"2"}
    assert {j.info.status for j in jobs} == {"FINISHED"} and all("val_accuracy" in j.data.metrics for j in jobs)
