"""HashDropout is Keras' Dropout with another random stream: same keep rate and scaling, independent fresh masks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from sweep import data
from sweep.models import dropout
from sweep.training import export, model
from tests.conftest import STUDY_SHAPE, compose_cfg

RATE, SHAPE = 0.2, (256, 784)  # about 200k units per mask


def masks(layer, n):
    ones = tf.ones(SHAPE)
    return [np.asarray(layer(ones, training=True)) for _ in range(n)]


def within(observed, p, n, sigmas=5.0):
    return abs(observed - p) <= sigmas * np.sqrt(p * (1 - p) / n)


def test_masks_keep_each_unit_with_probability_1_minus_rate_and_scale_as_keras():
    keras.utils.set_random_seed(0)
    drawn = masks(dropout.HashDropout(RATE), 4)
    for out in drawn:
        assert set(np.unique(out)) == {0.0, np.float32(1 / (1 - RATE))}  # dropped, or kept and scaled
        assert within((out > 0).mean(), 1 - RATE, out.size)
    kept = [out > 0 for out in drawn]
    agree = 1 - 2 * RATE * (1 - RATE)  # two independent masks agree on a unit this often
    for a, b in zip(kept, kept[1:], strict=False):
        assert within((a == b).mean(), agree, a.size)  # each step draws a fresh, independent mask
    assert within((kept[0][:, 1:] == kept[0][:, :-1]).mean(), agree, kept[0][:, 1:].size)  # neighbouring units
    assert within((kept[0][1:] == kept[0][:-1]).mean(), agree, kept[0][1:].size)  # the same unit, next example
    ones = tf.ones(SHAPE)
    assert np.array_equal(np.asarray(dropout.HashDropout(RATE)(ones, training=False)), np.ones(SHAPE))
    with pytest.raises(ValueError, match="noise_shape must be None"):
        dropout.HashDropout(RATE, noise_shape=(1, 784))  # a shared mask per column: not what it draws


def test_masks_follow_the_keras_seed_with_or_without_xla():
    keras.utils.set_random_seed(7)
    first = masks(dropout.HashDropout(RATE, seed=3), 2)
    keras.utils.set_random_seed(7)
    again = masks(dropout.HashDropout(RATE, seed=3), 2)
    other = masks(dropout.HashDropout(RATE, seed=4), 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    seed = tf.constant([3, 1], tf.int32)
    compiled = tf.function(lambda s: dropout.uniform_bits(tf.constant([64, 784]), s), jit_compile=True)
    assert np.array_equal(np.asarray(compiled(seed)), np.asarray(dropout.uniform_bits(tf.constant([64, 784]), seed)))


@pytest.mark.parametrize("reg_at", ["input", "hidden"])
def test_the_logged_model_has_keras_own_layers_and_predicts_the_same(reg_at, fashion_raw, tmp_path):
    cfg = compose_cfg("reg=dropout_batchnorm", f"model.reg_at={reg_at}")
    keras.utils.set_random_seed(0)
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    raw = fashion_raw.x_test[:64]
    x = data.normalize(raw)  # what training feeds the net; the logged model takes the raw images
    net.fit(x, fashion_raw.y_test[:64], epochs=1, verbose=0)  # weights and BatchNormalization statistics move
    served = export.serving_model(net, STUDY_SHAPE.image)
    assert any(isinstance(layer, dropout.HashDropout) for layer in net.layers)
    assert {type(layer).__module__.split(".")[0] for layer in served.layers} == {"keras"}
    assert [type(layer).__name__ for layer in served.layers].count("Dropout") == (1 if reg_at == "input" else 2)
    np.testing.assert_array_equal(np.asarray(served(raw)), np.asarray(net(x)))
    served.save(tmp_path / "served.keras")
    loaded = keras.saving.load_model(tmp_path / "served.keras", safe_mode=True)
    np.testing.assert_array_equal(np.asarray(loaded(raw)), np.asarray(net(x)))
