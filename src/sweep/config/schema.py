"""The typed config schema, registered in Hydra's ConfigStore as `schema` (first in conf/config.yaml's defaults)."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf


class ConfigError(ValueError):
    """A config value outside what is allowed; the message names the key and the allowed values."""

    def __init__(self, message: str, key: Optional[str] = None):
        super().__init__(message)
        self.key = key


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
    name: str = MISSING  # a built-in data set (mnist, fashion_mnist), or any label for data.path's files
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
    # the model option (conf/model/*.yaml): its name, a user builder's _target_, and the option's own keys
    model: Dict[str, Any] = field(default_factory=dict)
    speed: SpeedConfig = MISSING
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    retrain: bool = False


def is_sweep_config(cfg: Any) -> bool:
    """Whether a composed config is sweep.train's (else another Hydra app's, under one of our plugins)."""
    return cfg is not None and all(key in cfg for key in SweepConfig.__dataclass_fields__)


def default_workers() -> int:
    """Worker processes for a parallel multirun: one per usable core (cgroup quotas count), at most 8."""
    import joblib

    return max(1, min(joblib.cpu_count(), 8))


def register() -> None:
    """Register the schema as `schema` (first in conf/config.yaml's defaults) and the `sweep_workers` resolver."""
    ConfigStore.instance().store(name="schema", node=SweepConfig)
    if not OmegaConf.has_resolver("sweep_workers"):
        OmegaConf.register_new_resolver("sweep_workers", default_workers)


register()  # importing the schema makes it available to conf/config.yaml, in the app and in tests
