"""The one definition of a cell (sweep.config.cells) that compare, the report, resume and the sweepers share."""

import hashlib
import json

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from sweep.config import activations, cells
from tests.conftest import CONF, compose_cfg


def test_a_cell_is_the_config_apart_from_its_seed_and_where_it_is_tracked():
    base = compose_cfg("train.learning_rate=0.01")
    same_cell = [
        compose_cfg("train.learning_rate=0.01", "train.seed=3"),
        compose_cfg("train.learning_rate=0.01", "mlflow.experiment=other", "retrain=true"),
    ]
    assert {cells.cell_hash(c) for c in same_cell} == {cells.cell_hash(base)}
    assert cells.config_hash(same_cell[0]) != cells.config_hash(base)  # a job is its cell and its seed
    assert cells.config_hash(same_cell[1]) == cells.config_hash(base)
    for other in ("train.learning_rate=0.001", "act=tanh", "model.hidden=[64]", "data.limit=10", "speed=study"):
        assert cells.cell_hash(compose_cfg(other)) != cells.cell_hash(base), other


def test_config_hash_is_the_one_earlier_versions_logged_so_resume_finds_their_runs():
    cfg = compose_cfg("reg=l1", "train.seed=2")
    values = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k not in ("mlflow", "retrain")]))
    del values["model"]["name"]  # earlier versions had no model group: the study's MLP hashes without its name
    assert cells.config_hash(cfg) == hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def test_a_cell_is_named_by_reg_act_and_every_swept_key_but_the_seed():
    cfg = compose_cfg("reg=l2", "train.learning_rate=0.01", "model.hidden=[64,32]", "train.seed=4")
    choices = {"reg": "l2", "act": "relu", "data": "mnist"}
    swept = ["train.learning_rate", "train.seed", "model.hidden", "data"]
    named = cells.values(cfg, choices, swept)
    name = cells.name(named)
    assert name == "reg=l2 act=relu train.learning_rate=0.01 model.hidden=[64,32] data=mnist"
    assert cells.run_name(name, cfg, swept) == name + " train.seed=4"
    assert cells.run_name(name, cfg, ["train.learning_rate"]) == name
    assert cells.parse(name) == named
    assert cells.parse("reg=none act=relu data.path=/a b/c train.seed=1")["data.path"] == "/a b/c"


def _multirun_config(*task: str, params: dict = None, swept_keys=None):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.overrides.task = list(task)
        cfg.hydra.sweeper.params = params
        if swept_keys is not None:  # another sweeper's config, with the field in which it lists the keys it varies
            cfg.hydra.sweeper = {"_target_": "a.RaceSweeper", "params": params, "swept_keys": swept_keys}
    return cfg


def test_swept_keys_come_from_what_any_sweeper_was_given():
    config = _multirun_config(
        "reg=none,l2",
        "act=glob(*)",
        "data=fashion_mnist",
        "train.learning_rate=tag(log,interval(1e-4,1e-1))",
        "+model.extra=choice(1,2)",
        params={"model.hidden": "[64],[128]", "train.epochs": "2"},
    )
    swept = cells.swept_keys(config)
    assert swept == ["model.hidden", "reg", "act", "train.learning_rate", "model.extra"]
    racing = _multirun_config("reg=none,l2", swept_keys=["train.seed"])  # a sweeper that adds seeds itself
    assert cells.swept_keys(racing) == ["reg", "train.seed"]
    assert cells.factors(["reg", "train.seed", "hydra/launcher", "mlflow.experiment", "act"]) == ["reg", "act"]


def test_the_baseline_is_each_factors_value_in_the_sweeps_own_config():
    config = _multirun_config()
    assert cells.baseline(config, ["reg", "act", "train.learning_rate", "model.hidden"]) == {
        "reg": "none",
        "act": "relu",
        "train.learning_rate": "0.001",
        "model.hidden": "[128,128]",
    }
    assert cells.defaults(["reg", "data"]) == {"reg": "none", "data": "mnist"}


def test_keras_activations_read_from_its_source_are_the_ones_keras_accepts():
    import keras

    names = activations.from_source()
    assert names == activations.from_keras() and "threshold" not in names  # threshold needs two more arguments
    for name in names:
        assert callable(keras.activations.get(name))
    with pytest.raises(ValueError):
        keras.activations.get("nope")
