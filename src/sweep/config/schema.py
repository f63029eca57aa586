"""The typed config schema and the range checks that run before any MLflow run is created."""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

INPUT_LAYERS = ("flatten", "dropout", "batch_normalization", "activity_regularization")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
DATASETS = ("mnist", "fashion_mnist")
PLACEMENTS = ("input", "hidden")


class ConfigError(ValueError):
    """A config value outside what is allowed; the message names the key and the allowed values."""


@dataclass
class RegConfig:
    name: str = MISSING
    input_layers: List[str] = MISSING
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0


@dataclass
class ActConfig:
    name: str = MISSING


@dataclass
class DataConfig:
    name: str = MISSING
    path: Optional[str] = None
    limit: Optional[int] = None


@dataclass
class TrainConfig:
    epochs: int = 12
    batch_size: int = 32
    validation_split: float = 0.1
    learning_rate: float = 0.001
    seed: int = 0


@dataclass
class ModelConfig:
    hidden: List[int] = field(default_factory=lambda: [128, 128])
    reg_at: str = "input"


@dataclass
class SpeedConfig:
    name: str = MISSING
    loop: str = "keras"
    jit_compile: Any = "auto"
    steps_per_execution: int = 1
    threads: Optional[int] = 0
    eval_batch_size: Optional[int] = None
    dropout_rng: str = "keras"


@dataclass
class MlflowConfig:
    experiment: str = "sweep"


@dataclass
class SweepConfig:
    data: DataConfig = MISSING
    reg: RegConfig = MISSING
    act: ActConfig = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    speed: SpeedConfig = MISSING
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    retrain: bool = False


def config_hash(cfg: Any) -> str:
    """A short hash of everything that changes what a job computes (not where it is tracked, nor `retrain`)."""
    keys = [k for k in cfg.keys() if k not in ("hydra", "mlflow", "retrain")]
    values = OmegaConf.to_container(OmegaConf.masked_copy(cfg, keys), resolve=True)
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def default_workers() -> int:
    """Worker processes for a parallel multirun: one per usable core (cgroup quotas count), at most 8."""
    import joblib

    return max(1, min(joblib.cpu_count(), 8))


def register() -> None:
    """Register the schema as `schema` (first in conf/config.yaml's defaults) and the `sweep_workers` resolver."""
    ConfigStore.instance().store(name="schema", node=SweepConfig)
    if not OmegaConf.has_resolver("sweep_workers"):
        OmegaConf.register_new_resolver("sweep_workers", default_workers)


def _check(ok: bool, key: str, allowed: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {allowed}, got {value!r}")


def validate(cfg: Any) -> None:
    """Raise ConfigError on the first value outside its allowed range."""
    unknown = sorted(set(cfg.keys()) - set(SweepConfig.__dataclass_fields__) - {"hydra"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key; known keys: {', '.join(SweepConfig.__dataclass_fields__)}")
    reg, train, data = cfg.reg, cfg.train, cfg.data
    layers = list(reg.input_layers)
    for name in layers:
        _check(name in INPUT_LAYERS, "reg.input_layers", f"a list of {', '.join(INPUT_LAYERS)}", name)
    _check(layers.count("flatten") == 1, "reg.input_layers", "a list holding 'flatten' exactly once", layers)
    _check(0.0 <= reg.dropout < 1.0, "reg.dropout", "in [0, 1)", reg.dropout)
    _check(reg.l1 >= 0.0, "reg.l1", ">= 0", reg.l1)
    _check(reg.l2 >= 0.0, "reg.l2", ">= 0", reg.l2)
    _check(cfg.act.name in ACTIVATIONS, "act.name", f"one of {', '.join(ACTIVATIONS)}", cfg.act.name)
    _check(data.name in DATASETS, "data.name", f"one of {', '.join(DATASETS)}", data.name)
    _check(data.limit is None or data.limit >= 1, "data.limit", "null or an integer >= 1", data.limit)
    _check(train.epochs >= 1, "train.epochs", "an integer >= 1", train.epochs)
    _check(train.batch_size >= 1, "train.batch_size", "an integer >= 1", train.batch_size)
    _check(0.0 < train.validation_split < 1.0, "train.validation_split", "in (0, 1)", train.validation_split)
    _check(train.learning_rate > 0.0, "train.learning_rate", "> 0", train.learning_rate)
    speed = cfg.speed
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
    _check(cfg.model.reg_at in PLACEMENTS, "model.reg_at", "one of input, hidden", cfg.model.reg_at)
    _check(
        len(cfg.model.hidden) >= 1 and min(cfg.model.hidden) >= 1,
        "model.hidden",
        "a non-empty list of integers >= 1",
        list(cfg.model.hidden),
    )


register()  # importing the schema makes it available to conf/config.yaml, in the app and in tests
