"""Every reg x act composes to exactly the study's layer stack; bad values are rejected before anything runs."""

import os

import keras
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from sweep.config import checks, schema
from sweep.models import dropout
from sweep.training import export, model
from tests.conftest import CONF, STUDY_SHAPE, compose_cfg

# Transcribed from ../shared/seed/results.md (layers in front of the Dense stack, in order).
STUDY_STACKS = {
    "none": [("Flatten", None)],
    "dropout": [("Flatten", None), ("Dropout", 0.2)],
    "batchnorm": [("BatchNormalization", None), ("Flatten", None)],
    "l1": [("ActivityRegularization", ("l1", 0.01)), ("Flatten", None)],
    "l2": [("ActivityRegularization", ("l2", 0.01)), ("Flatten", None)],
    "dropout_batchnorm": [("Flatten", None), ("BatchNormalization", None), ("Dropout", 0.2)],
    "batchnorm_l2": [("ActivityRegularization", ("l2", 0.01)), ("BatchNormalization", None), ("Flatten", None)],
    "batchnorm_l1": [("ActivityRegularization", ("l1", 0.01)), ("BatchNormalization", None), ("Flatten", None)],
}
ACTS = ["relu", "leaky_relu", "tanh", "sigmoid"]


def test_config_groups_hold_exactly_the_study_options():
    assert sorted(p.stem for p in (CONF / "reg").glob("*.yaml")) == sorted(STUDY_STACKS)
    assert sorted(p.stem for p in (CONF / "act").glob("*.yaml")) == sorted(ACTS)


def test_defaults_reproduce_the_study():
    cfg = compose_cfg()
    assert (cfg.data.name, cfg.reg.name, cfg.act.name) == ("mnist", "none", "relu")
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.validation_split) == (12, 32, 0.1)
    assert cfg.train.learning_rate == keras.optimizers.Adam().learning_rate
    assert list(cfg.model.hidden) == [128, 128]


def _describe(layer):
    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Dropout):  # Keras' own, or HashDropout with speed.dropout_rng=hash
        return "Dropout", layer.rate
    if kind == "ActivityRegularization":
        (which,) = [k for k in ("l1", "l2") if getattr(layer, k) > 0]
        assert [getattr(layer, k) for k in ("l1", "l2") if k != which] == [0.0]
        return kind, (which, pytest.approx(getattr(layer, which)))
    return kind, None


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("reg", sorted(STUDY_STACKS))
def test_every_cell_builds_the_study_stack(reg, act):
    cfg = compose_cfg(f"reg={reg}", f"act={act}")
    checks.validate(cfg)
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    front, dense = net.layers[:-3], net.layers[-3:]
    assert [_describe(layer) for layer in front] == STUDY_STACKS[reg]
    assert [type(d).__name__ for d in dense] == ["Dense"] * 3
    assert [d.units for d in dense] == [128, 128, 10]
    assert [d.activation.__name__ for d in dense] == [act, act, "softmax"]
    assert net.optimizer.__class__.__name__ == "Adam"
    assert net.output_shape == (None, 10)


def test_leaky_relu_has_tensorflows_default_slope():
    cfg = compose_cfg("act=leaky_relu")
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    out = net.layers[-3].activation(np.array([-1.0, 2.0], dtype="float32"))
    np.testing.assert_allclose(np.asarray(out), [-0.2, 2.0], rtol=1e-6)


@pytest.mark.parametrize("override", ["reg=nope", "act=swish", "data=cifar", "train.epoch=3", "model.depth=2"])
def test_unknown_option_or_key_is_rejected_by_composition(override):
    with pytest.raises(ConfigCompositionException):
        compose_cfg(override)


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["reg=dropout", "reg.dropout=1.0"], "reg.dropout"),
        (["reg=dropout", "reg.dropout=-0.1"], "reg.dropout"),
        (["reg=l1", "reg.l1=-0.01"], "reg.l1"),
        (["reg=l2", "reg.l2=-1"], "reg.l2"),
        (["train.epochs=0"], "train.epochs"),
        (["train.batch_size=0"], "train.batch_size"),
        (["train.validation_split=0"], "train.validation_split"),
        (["train.validation_split=1.0"], "train.validation_split"),
        (["train.learning_rate=0"], "train.learning_rate"),
        (["data.limit=0"], "data.limit"),
        (["model.hidden=[]"], "model.hidden"),
        (["reg.input_layers=[dropout]"], "reg.input_layers"),
        (["reg.input_layers=[flatten,maxpool]"], "reg.input_layers"),
        (["speed.dropout_rng=numpy"], "speed.dropout_rng"),
    ],
)
def test_out_of_range_values_name_their_key(overrides, key):
    cfg = compose_cfg(*overrides)
    with pytest.raises(schema.ConfigError, match=rf"^{key} must be "):
        checks.validate(cfg)


def test_wrong_type_is_rejected_by_the_schema():
    with pytest.raises(ConfigCompositionException):
        compose_cfg("train.epochs=many")


HIDDEN_EXTRA = {  # with model.reg_at=hidden: what follows each hidden Dense, and its kernel penalty
    "none": ([], None),
    "dropout": (["Dropout"], None),
    "batchnorm": (["BatchNormalization"], None),
    "l1": ([], ("l1", 0.01)),
    "l2": ([], ("l2", 0.01)),
    "dropout_batchnorm": (["BatchNormalization", "Dropout"], None),
    "batchnorm_l1": (["BatchNormalization"], ("l1", 0.01)),
    "batchnorm_l2": (["BatchNormalization"], ("l2", 0.01)),
}


@pytest.mark.parametrize("reg", sorted(HIDDEN_EXTRA))
def test_hidden_placement_moves_the_regularizer_onto_the_hidden_layers(reg):
    cfg = compose_cfg(f"reg={reg}", "act=tanh", "model.reg_at=hidden")
    checks.validate(cfg)
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    after, penalty = HIDDEN_EXTRA[reg]
    expected = ["Flatten", *(["Dense", *after] * 2), "Dense"]
    assert [_describe(layer)[0] for layer in net.layers] == expected
    dense = [layer for layer in net.layers if type(layer).__name__ == "Dense"]
    assert dense[-1].kernel_regularizer is None and dense[-1].activation.__name__ == "softmax"
    for layer in dense[:-1]:
        assert layer.activation.__name__ == "tanh"
        if penalty is None:
            assert layer.kernel_regularizer is None
        else:
            config = layer.kernel_regularizer.get_config()
            assert config[penalty[0]] == pytest.approx(penalty[1])
            assert config["l2" if penalty[0] == "l1" else "l1"] == 0.0
    rates = [layer.rate for layer in net.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == ([0.2, 0.2] if "Dropout" in after else [])


def test_placement_is_checked():
    with pytest.raises(schema.ConfigError, match=r"^model.reg_at must be one of input, hidden, got 'output'"):
        checks.validate(compose_cfg("model.reg_at=output"))


@pytest.mark.parametrize(
    "reg, rng, xla",
    [
        ("none", "hash", True),
        ("batchnorm_l1", "hash", True),
        ("dropout", "hash", True),  # HashDropout: the same math, masks XLA compiles well
        ("dropout_batchnorm", "keras", False),  # Keras' own Dropout: no XLA on a CPU
    ],
)
def test_fast_path_builds_the_same_model_with_its_levers(reg, rng, xla):
    fast, study = compose_cfg(f"reg={reg}", f"speed.dropout_rng={rng}"), compose_cfg(f"reg={reg}", "speed=study")
    fast_net = model.build(fast.reg, fast.act, fast.model, fast.train, fast.speed, STUDY_SHAPE)
    study_net = model.build(study.reg, study.act, study.model, study.train, study.speed, STUDY_SHAPE)
    served = export.serving_model(fast_net, STUDY_SHAPE.image)
    assert [type(layer) for layer in served.layers] == [keras.layers.UnitNormalization] + [
        type(x) for x in study_net.layers
    ]
    assert [w.shape for w in fast_net.weights] == [w.shape for w in study_net.weights]
    dropouts = int("dropout" in reg)
    fast_kind = dropout.HashDropout if rng == "hash" else keras.layers.Dropout
    study_kinds = [type(x) for x in study_net.layers if isinstance(x, keras.layers.Dropout)]
    assert study_kinds == [keras.layers.Dropout] * dropouts
    assert [type(x) for x in fast_net.layers if isinstance(x, keras.layers.Dropout)] == [fast_kind] * dropouts
    # the levers reach Keras: XLA for the in-graph training loop (evaluation without it), 64 steps per call
    assert model.jit_compile(fast_net, fast.speed.jit_compile) is xla and fast_net.jit_compile is False
    assert fast_net.steps_per_execution == 64
    assert study_net.jit_compile is False and study_net.steps_per_execution == 1  # Keras' auto: no XLA on a CPU
    own = compose_cfg(f"reg={reg}", f"speed.dropout_rng={rng}", "speed.loop=keras")
    keras_loop = model.build(own.reg, own.act, own.model, own.train, own.speed, STUDY_SHAPE)
    assert keras_loop.jit_compile is xla  # with Keras' own loop, XLA goes to its fit and evaluate
    assert (fast.speed.eval_batch_size, study.speed.eval_batch_size) == (1024, None)  # None: Keras' default
    assert (compose_cfg().speed.dropout_rng, study.speed.dropout_rng) == ("hash", "keras")
    assert (fast.speed.loop, study.speed.loop) == ("in_graph", "keras")  # job.fit picks the loop by this value


def test_multirun_launcher_defaults_to_parallel_workers():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True)
    assert cfg.hydra.launcher._target_ == "hydra_plugins.sweep_launchers.fused_launcher.FusedLauncher"  # joblib, fused
    assert cfg.hydra.launcher.fuse == 4
    assert cfg.hydra.launcher.n_jobs == schema.default_workers() == min(os.cpu_count(), 8)
