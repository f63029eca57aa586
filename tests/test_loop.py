"""speed.loop=in_graph trains exactly as Keras' own fit: same split, batches, partial batch, penalties and metrics."""

import keras
import numpy as np
import pytest

from sweep import data
from sweep.training import loop, model
from tests.conftest import STUDY_SHAPE, compose_cfg

N = 1000  # 900 train images after the split: 28 full batches of 32 and a partial one of 4


@pytest.fixture(scope="module")
def images(fashion_raw):
    return data.normalize(fashion_raw.x_train[:N]), fashion_raw.y_train[:N]


def trained(cfg, x, y, in_graph: bool, shuffle: bool = False):
    keras.utils.set_random_seed(cfg.train.seed)
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    if in_graph:
        history = loop.fit([net], x, y, cfg.train, cfg.speed, callbacks=[], verbose=0, shuffle=shuffle).history
    else:
        history = net.fit(
            x,
            y,
            epochs=cfg.train.epochs,
            batch_size=cfg.train.batch_size,
            validation_split=cfg.train.validation_split,
            shuffle=shuffle,
            verbose=0,
        ).history
    return net, history


@pytest.mark.parametrize(
    "overrides, xla, tolerance",
    [
        # kernel L2 penalties and BatchNormalization on the hidden layers; without XLA the float math is the same
        (["reg=batchnorm_l2", "model.reg_at=hidden", "speed.jit_compile=false"], False, 1e-5),
        (["reg=dropout", "act=tanh", "speed.dropout_rng=keras"], False, 1e-5),  # Keras' Dropout masks, in order
        (["reg=dropout_batchnorm", "act=sigmoid"], True, 1e-3),  # HashDropout: the same masks with or without XLA
        (["reg=batchnorm_l1", "act=leaky_relu", "speed.jit_compile=true"], True, 1e-3),  # XLA may reorder sums
    ],
)
def test_in_graph_loop_takes_the_same_steps_as_keras_fit(images, overrides, xla, tolerance):
    # 8 steps per call: 3 full calls, then a call of 4 steps plus the partial batch of 4 images
    cfg = compose_cfg(*overrides, "train.epochs=2", "speed.steps_per_execution=8")
    keras_net, keras_history = trained(cfg, *images, in_graph=False)
    loop_net, loop_history = trained(cfg, *images, in_graph=True)
    assert model.jit_compile(loop_net, cfg.speed.jit_compile) is xla  # what loop.fit compiles with
    assert sorted(loop_history) == sorted(keras_history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key, values in keras_history.items():
        np.testing.assert_allclose(loop_history[key], values, rtol=tolerance, atol=tolerance, err_msg=key)
    for mine, theirs in zip(
        loop_net.weights, keras_net.weights, strict=True
    ):  # weights, BN statistics, Dropout seed states
        np.testing.assert_allclose(
            np.asarray(mine), np.asarray(theirs), rtol=tolerance, atol=tolerance, err_msg=mine.path
        )


def test_in_graph_loop_shuffles_reproducibly_and_checks_the_split(images):
    cfg = compose_cfg("train.epochs=2", "speed.steps_per_execution=8")
    shuffled, history = trained(cfg, *images, in_graph=True, shuffle=True)
    again, history_again = trained(cfg, *images, in_graph=True, shuffle=True)
    ordered, _ = trained(cfg, *images, in_graph=True, shuffle=False)
    assert history == history_again  # the same seed gives the same batches, bit for bit
    assert all(
        np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(shuffled.weights, again.weights, strict=True)
    )
    assert not np.allclose(np.asarray(shuffled.weights[0]), np.asarray(ordered.weights[0]))  # another batch order
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    with pytest.raises(ValueError, match=r"^train.validation_split=0.1 leaves no training data \(n=1 images\)"):
        loop.fit([net], *(a[:1] for a in images), cfg.train, cfg.speed, callbacks=[], verbose=0)  # floor(0.9) = 0


def test_batches_evaluate_as_keras_does_without_autotuning(images):
    cfg = compose_cfg("reg=batchnorm")
    keras.utils.set_random_seed(cfg.train.seed)
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    batches = loop.batches(images, 96)  # 1000 images: 10 full batches and one of 40
    assert batches.options().autotune.enabled is False
    np.testing.assert_allclose(net.evaluate(batches, verbose=0), net.evaluate(*images, batch_size=96, verbose=0))


@pytest.mark.parametrize("reg", ["batchnorm_l1", "dropout_batchnorm"])  # the input penalty; no Dropout at test time
def test_the_loop_evaluates_as_the_net_itself_does(images, reg):
    cfg = compose_cfg(f"reg={reg}", "train.epochs=1", "speed.steps_per_execution=8")
    keras.utils.set_random_seed(cfg.train.seed)
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    fitted = loop.fit([net], *images, cfg.train, cfg.speed, callbacks=[], verbose=0)
    assert isinstance(fitted.model, loop.InGraphLoop) and fitted.model.nets == [net]  # what job.evaluate calls
    batches = loop.batches(images, 96)
    np.testing.assert_allclose(fitted.model.evaluate(batches, verbose=0), net.evaluate(batches, verbose=0), rtol=1e-6)
