"""The model group: model=mlp is the study's MLP bit for bit, model=cnn places act and reg, bad values are refused."""

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

from sweep import data
from sweep.config import cells, checks, fusion, schema
from sweep.models import builders, layers
from sweep.models.dropout import HashDropout
from sweep.training import model
from tests.conftest import STUDY_SHAPE, compose_cfg


def _old_dropout(rate, speed):
    return HashDropout(rate) if speed.dropout_rng == "hash" else keras.layers.Dropout(rate)


def old_build(reg, act, mdl, train, speed, shape):
    """training/model.py's build before the model group (commit 225cb58), frozen here to compare against."""
    make = {
        "flatten": lambda: keras.layers.Flatten(),
        "dropout": lambda: _old_dropout(reg.dropout, speed),
        "batch_normalization": lambda: keras.layers.BatchNormalization(),
        "activity_regularization": lambda: keras.layers.ActivityRegularization(l1=reg.l1, l2=reg.l2),
    }
    at_hidden = mdl.reg_at == "hidden"
    front = [keras.layers.Flatten()] if at_hidden else [make[name]() for name in reg.input_layers]
    net = keras.Sequential([keras.Input(shape=shape.image), *front])
    for units in mdl.hidden:
        if not at_hidden:
            net.add(keras.layers.Dense(units, activation=act.name))
            continue
        penalty = keras.regularizers.L1L2(l1=reg.l1, l2=reg.l2) if reg.l1 or reg.l2 else None
        net.add(keras.layers.Dense(units, activation=act.name, kernel_regularizer=penalty))
        if "batch_normalization" in reg.input_layers:
            net.add(keras.layers.BatchNormalization())
        if "dropout" in reg.input_layers:
            net.add(_old_dropout(reg.dropout, speed))
    net.add(keras.layers.Dense(shape.classes, activation="softmax"))
    net.compile(
        optimizer=keras.optimizers.Adam(learning_rate=train.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    return net


def _fitted(make, cfg, x, y):
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(0)
    net = make(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    net.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.train.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    configs = [type(layer).__name__ + str({**layer.get_config(), "name": None}) for layer in net.layers]
    net.fit(x, y, epochs=1, batch_size=32, validation_split=0.1, verbose=0)
    return configs, net.get_weights()


@pytest.mark.parametrize(
    "overrides",
    [
        (),
        ("reg=dropout_batchnorm", "act=tanh"),
        ("reg=batchnorm_l1",),
        ("reg=dropout_batchnorm", "model.reg_at=hidden"),
        ("reg=l2", "model.reg_at=hidden", "speed=study"),
    ],
)
def test_model_mlp_trains_exactly_as_before_the_model_group(overrides, fashion_raw):
    cfg = compose_cfg(*overrides)
    x, y = fashion_raw.x_train[:320].astype("float32") / 255.0, fashion_raw.y_train[:320]
    old_layers, old_weights = _fitted(old_build, cfg, x, y)
    new_layers, new_weights = _fitted(model.build, cfg, x, y)
    assert new_layers == old_layers
    assert all(np.array_equal(a, b) for a, b in zip(old_weights, new_weights, strict=True))


def test_the_study_cells_keep_their_identity():
    cfg = compose_cfg("reg=dropout")
    old = OmegaConf.create(OmegaConf.to_container(cfg))
    old.model = {"hidden": [128, 128], "reg_at": "input"}  # the config before the model group
    assert cells.cell_hash(cfg) == cells.cell_hash(old)
    assert cells.cell_hash(compose_cfg("model=cnn")) != cells.cell_hash(cfg)
    assert cells.cell_hash(compose_cfg("model=cnn", "model.dense=64")) != cells.cell_hash(compose_cfg("model=cnn"))


def test_cnn_puts_act_on_every_conv_and_dense_and_reg_after_each_block():
    cfg = compose_cfg("model=cnn", "reg=dropout_batchnorm", "act=tanh", "speed=study")
    checks.validate(cfg)
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, STUDY_SHAPE)
    kinds = [type(layer).__name__ for layer in net.layers]
    block = ["Conv2D", "MaxPooling2D", "BatchNormalization", "Dropout"]
    assert kinds == ["Reshape", *block, *block, "Flatten", "Dense", "BatchNormalization", "Dropout", "Dense"]
    weighted = [layer for layer in net.layers if type(layer).__name__ in ("Conv2D", "Dense")]
    assert [layer.activation.__name__ for layer in weighted] == ["tanh", "tanh", "tanh", "softmax"]
    assert [layer.filters for layer in weighted[:2]] == [32, 64] and weighted[2].units == 128
    assert net.output_shape == (None, 10)
    l2 = compose_cfg("model=cnn", "reg=l2")
    net = builders.build(l2.model, "relu", l2.reg, "keras", STUDY_SHAPE)
    penalties = [layer.kernel_regularizer for layer in net.layers if hasattr(layer, "kernel_regularizer")]
    assert [p.get_config()["l2"] if p else None for p in penalties] == [pytest.approx(0.01)] * 3 + [None]
    # speed.jit_compile=per_model: no XLA for a convolution on a CPU (3.7x slower epochs than oneDNN's), nested too
    inner = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3)])
    nested = keras.Sequential([keras.Input((28, 28, 1)), inner, keras.layers.Flatten(), keras.layers.Dense(10)])
    mlp = builders.build(compose_cfg().model, "relu", l2.reg, "keras", STUDY_SHAPE)
    assert [model.jit_compile(m, "per_model") for m in (net, nested, mlp)] == [False, False, True]


def test_the_layer_recipes_apply_in_a_functional_model():
    reg = builders.Reg("dropout", ("flatten", "dropout"), dropout=0.5)
    inputs = keras.Input(shape=(8,))
    x = layers.apply(layers.dense_block(4, "relu", reg), inputs)
    assert [type(layer).__name__ for layer in keras.Model(inputs, x).layers] == ["InputLayer", "Dense", "Dropout"]
    with layers.dropout_rng("hash"):
        assert isinstance(layers.dropout(0.5), HashDropout)


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.kernel=0", "model.kernel"),
        ("model.filters=[]", "model.filters"),
        ("model.dense=-1", "model.dense"),
        ("model.filters=[16,0]", "model.filters"),
    ],
)
def test_cnn_sizes_are_range_checked(override, key):
    with pytest.raises(schema.ConfigError) as info:
        checks.validate(compose_cfg("model=cnn", override))
    assert info.value.key == key


def test_a_model_option_without_a_builder_is_refused():
    cfg = compose_cfg()
    cfg.model = {"name": "mine", "width": 3}
    with pytest.raises(schema.ConfigError, match="model._target_ missing: model=mine"):
        checks.validate(cfg)


def test_only_the_mlp_fuses_or_trains_in_graph():
    mlp, cnn = compose_cfg(), compose_cfg("model=cnn")
    assert fusion.can_fuse(mlp) and not fusion.can_fuse(cnn)
    assert model.speed_for(mlp) == (mlp.speed, None)
    speed, why = model.speed_for(cnn)
    assert speed.loop == "keras" and speed.steps_per_execution == cnn.speed.steps_per_execution
    assert why == "model=cnn trains with Keras' fit, unfused: the fused in-graph loop handles the MLP family only"
    user = compose_cfg()
    user.model = {"name": "mlp", "_target_": "mymodels.build"}  # a user's builder named mlp is still no MLP
    assert not fusion.can_fuse(user)


def test_a_users_functional_net_is_logged_in_plain_keras_taking_raw_images(fashion_raw, monkeypatch):
    from pathlib import Path

    from sweep import data
    from sweep.training import export

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "examples" / "models"))
    cfg = compose_cfg("reg=dropout")
    mine = OmegaConf.create({"name": "mine", "_target_": "mymodels.build", "width": 8, "blocks": 1})
    net = builders.build(mine, "relu", cfg.reg, "hash", STUDY_SHAPE)
    assert any(isinstance(layer, HashDropout) for layer in net.layers)
    served = export.serving_model(net, STUDY_SHAPE.image)
    inner = [layer for outer in served.layers for layer in getattr(outer, "layers", [outer])]
    assert not any(isinstance(layer, HashDropout) for layer in inner)
    raw = fashion_raw.x_test[:5]
    expected = np.asarray(net(data.normalize(raw), training=False))
    np.testing.assert_allclose(np.asarray(served(raw.astype("float64"), training=False)), expected, rtol=1e-5)


def test_fused_training_refuses_a_model_it_cannot_train_exactly():
    from sweep.training import fused
    from sweep.training.cell import Cell, JobContext

    ctx = JobContext("sqlite:///unused.db", "sweep-id", {})
    group = [Cell(compose_cfg("model=cnn", f"act={a}"), ctx, "0", a, a) for a in ("relu", "tanh")]
    with pytest.raises(ValueError, match="only the MLP family trains fused"):
        fused.train_cells(group)


LATE = """
import keras


def deferred(n_classes):
    return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(n_classes, activation="softmax")])


def wrong_input(n_classes):
    return keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(n_classes, activation="softmax")])
"""


def test_a_builder_is_checked_on_the_datas_real_shape(tmp_path, monkeypatch, fashion_small):
    from sweep.models import check

    (tmp_path / "late.py").write_text(LATE)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose_cfg("data=fashion_mnist", f"data.path={fashion_small}")
    spec = {"label": "mine", "act": "relu", "reg": cfg.reg, "data": {"name": "fashion_mnist", "path": fashion_small}}
    check.builder(
        {**spec, "model": {"name": "mine", "_target_": "late.deferred"}}, []
    )  # built without keras.Input: fine
    with pytest.raises(schema.ConfigError, match=r"late.wrong_input's net fails on images of shape \(28, 28\)"):
        check.builder({**spec, "model": {"name": "mine", "_target_": "late.wrong_input"}}, [])


def _keras_products(net):
    """Each Dense and Conv2D layer's forward operations per image, read off the built Keras net."""
    out = []
    for layer in net.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            places = np.prod(layer.output.shape[1:-1]) if isinstance(layer, keras.layers.Conv2D) else 1
            out.append(2.0 * np.prod(layer.kernel.shape) * places)
    return out


@pytest.mark.parametrize(
    "overrides, shape",
    [
        (("model=cnn",), STUDY_SHAPE),
        (("model=cnn", "model.filters=[8,16,4]", "model.kernel=5", "model.dense=7"), data.Shape((9, 7, 3), 4)),
        (("model.hidden=[64,32,16]",), STUDY_SHAPE),
    ],
)
def test_the_operations_counted_for_a_built_in_model_are_its_keras_layers(overrides, shape):
    from sweep.config import cost

    cfg = compose_cfg(*overrides)
    net = builders.build(cfg.model, "relu", cfg.reg, "keras", shape)
    assert cost.products(cfg, shape.image, shape.classes) == _keras_products(net)
    assert cost.flops(cfg, shape.image, shape.classes, 100, 10).known


def test_a_users_builder_counts_no_operations_and_says_so():
    from sweep.config import cost

    cfg = compose_cfg()
    cfg.model = {"name": "mine", "_target_": "mymodels.build", "width": 8}
    counted = cost.flops(cfg, (28, 28), 10, 100, 10)
    assert cost.products(cfg, (28, 28), 10) is None and not counted.known and counted.total == 0


def test_compare_holds_each_models_own_keys_fixed_per_model_when_the_model_varies():
    import pandas as pd

    from sweep.analysis.fixed import fixed_settings

    mlp = {"params.model": "mlp", "params.model.hidden": "[128, 128]", "params.model.reg_at": "input"}
    cnn = {"params.model": "cnn", "params.model.filters": "[32, 64]", "params.model.kernel": "3"}
    both = {"params.data": "fashion_mnist", "params.model.name": None, "params.model_params": None}
    rows = [{**both, **m, "model": m["params.model"], "params.train.seed": s} for m in (mlp, cnn) for s in "01"]
    runs = pd.DataFrame(rows).assign(**{"params.model_params": ["1", "1", "2", "2"]})
    assert fixed_settings(runs, ["model"]) == {
        "data": "fashion_mnist",
        "model.filters": "[32, 64] (model=cnn)",
        "model.kernel": "3 (model=cnn)",
        "model.hidden": "[128, 128] (model=mlp)",
        "model.reg_at": "input (model=mlp)",
    }
    runs.loc[3, "params.model.kernel"] = "5"  # varies within the cnn: not held fixed
    assert "model.kernel" not in fixed_settings(runs, ["model"])
    one = runs[runs["model"] == "mlp"]
    assert fixed_settings(one, [])["model.hidden"] == "[128, 128]"  # one model: its keys as before
