"""Range checks of a composed config, run before any MLflow run is created: one error names the key."""

from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue

from sweep.config import activations, limits
from sweep.config.schema import ConfigError, SweepConfig

# The layer kinds model.input_layers can build (the reg schema's vocabulary; any reg option may combine them).
INPUT_LAYERS = ("flatten", "dropout", "batch_normalization", "activity_regularization")
PLACEMENTS = ("input", "hidden")
# The built-in model options and their own keys (conf/model/); any other option names its builder's _target_.
MODEL_KEYS = {"mlp": ("hidden", "reg_at"), "cnn": ("filters", "kernel", "dense")}


def _check(ok: bool, key: str, allowed: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {allowed}, got {value!r}", key)


def validate(cfg: Any) -> None:
    """Raise ConfigError on the first value outside its allowed range (or a required value left out)."""
    unknown = sorted(set(cfg.keys()) - set(SweepConfig.__dataclass_fields__) - {"hydra"})
    if unknown:
        known = ", ".join(SweepConfig.__dataclass_fields__)
        raise ConfigError(f"{unknown[0]}: unknown key; known keys: {known}", unknown[0])
    try:
        _reg(cfg.reg)
        names = activations.known()
        _check(cfg.act.name in names, "act.name", f"an activation Keras knows ({', '.join(names)})", cfg.act.name)
        _train(cfg.train, cfg.data)
        _speed(cfg.speed)
        _model(cfg.model)
        limits.validate(cfg)  # what MLflow, Keras and NumPy would refuse later
    except MissingMandatoryValue as exc:
        raise ConfigError(f"{exc.full_key}: no value given (the key is required)", exc.full_key) from exc


def _reg(reg: Any) -> None:
    layers = list(reg.input_layers)
    for name in layers:
        _check(name in INPUT_LAYERS, "reg.input_layers", f"a list of {', '.join(INPUT_LAYERS)}", name)
    _check(layers.count("flatten") == 1, "reg.input_layers", "a list holding 'flatten' exactly once", layers)
    _check(0.0 <= reg.dropout < 1.0, "reg.dropout", "in [0, 1)", reg.dropout)
    _check(reg.l1 >= 0.0, "reg.l1", ">= 0", reg.l1)
    _check(reg.l2 >= 0.0, "reg.l2", ">= 0", reg.l2)


def _train(train: Any, data: Any) -> None:
    _check(bool(data.name), "data.name", "a built-in data set or a label for data.path's files", data.name)
    _check(data.limit is None or data.limit >= 1, "data.limit", "null or an integer >= 1", data.limit)
    _check(train.epochs >= 1, "train.epochs", "an integer >= 1", train.epochs)
    _check(train.batch_size >= 1, "train.batch_size", "an integer >= 1", train.batch_size)
    _check(0.0 < train.validation_split < 1.0, "train.validation_split", "in (0, 1)", train.validation_split)
    _check(train.learning_rate > 0.0, "train.learning_rate", "> 0", train.learning_rate)


def _speed(speed: Any) -> None:
    _check(speed.loop in ("keras", "in_graph"), "speed.loop", "one of keras, in_graph", speed.loop)
    _check(
        speed.jit_compile in (True, False, "auto", "per_model"),
        "speed.jit_compile",
        "true, false, auto or per_model",
        speed.jit_compile,
    )
    _check(speed.steps_per_execution >= 1, "speed.steps_per_execution", "an integer >= 1", speed.steps_per_execution)
    _check(
        speed.eval_batch_size is None or speed.eval_batch_size >= 1,
        "speed.eval_batch_size",
        "null (Keras' default, 32) or an integer >= 1",
        speed.eval_batch_size,
    )
    _check(speed.dropout_rng in ("keras", "hash"), "speed.dropout_rng", "one of keras, hash", speed.dropout_rng)
    _check(
        speed.threads is None or speed.threads >= 0,
        "speed.threads",
        "null (TensorFlow's own) or an integer >= 0 (0 = automatic)",
        speed.threads,
    )


def _model(model: Any) -> None:
    name = model.get("name")
    _check(bool(name), "model.name", "the model option's name (set in its conf/model/*.yaml)", name)
    if model.get("_target_"):
        return  # a user's builder: built and checked before the sweep starts (sweep.models.check)
    if name not in MODEL_KEYS:
        raise no_builder(name)
    unknown = sorted(set(model) - {"name", *MODEL_KEYS[name]})
    if unknown:
        keys = ", ".join(MODEL_KEYS[name])
        raise ConfigError(f"model.{unknown[0]}: not a key of model={name} (its keys: {keys})", f"model.{unknown[0]}")
    (_mlp if name == "mlp" else _cnn)(model)


def no_builder(name: Any) -> ConfigError:
    """The error for a model option that is not built in and names no builder."""
    return ConfigError(
        f"model._target_ missing: model={name} is not built in ({', '.join(MODEL_KEYS)}), so its option file "
        "must name its builder, e.g. _target_: mymodels.build",
        "model._target_",
    )


def _sizes(model: Any, key: str) -> None:
    values = list(model[key]) if OmegaConf.is_list(model[key]) else model[key]
    ok = isinstance(values, list) and len(values) >= 1 and all(isinstance(v, int) and v >= 1 for v in values)
    _check(ok, f"model.{key}", "a non-empty list of integers >= 1", values)


def _mlp(model: Any) -> None:
    _check(model.reg_at in PLACEMENTS, "model.reg_at", "one of input, hidden", model.reg_at)
    _sizes(model, "hidden")


def _cnn(model: Any) -> None:
    _sizes(model, "filters")
    for key in ("kernel", "dense"):
        _check(isinstance(model[key], int) and model[key] >= 1, f"model.{key}", "an integer >= 1", model[key])
