"""What MLflow, Keras, NumPy and the data would refuse only later, checked first: one error names the key.

sweep.config.checks holds the ranges of sweep's own keys; this module holds the limits that the libraries set (their
own validators where they offer one) and the values that are impossible only together (a data limit too small for
its validation split).
"""

import math
from typing import Any

from omegaconf import OmegaConf

from sweep import data
from sweep.config.schema import ConfigError

SEED_MAX = 2**32 - 1  # keras.utils.set_random_seed seeds NumPy, which takes 0 .. 2**32 - 1


def validate(cfg: Any) -> None:
    """Raise ConfigError on the first value a library would refuse later (in training, or in the store)."""
    seed = cfg.train.seed
    if not 0 <= seed <= SEED_MAX:
        raise ConfigError(f"train.seed must be an integer in [0, {SEED_MAX}] (NumPy's seeds), got {seed}", "train.seed")
    rate = cfg.train.learning_rate
    if not math.isfinite(rate):
        raise ConfigError(f"train.learning_rate must be a finite number > 0, got {rate}", "train.learning_rate")
    _experiment(cfg.mlflow.experiment)
    _param_lengths(cfg)


def _experiment(name: Any) -> None:
    """MLflow's own check of an experiment name (its store would refuse the name at the first request)."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_experiment_name

    try:
        _validate_experiment_name(name)
    except MlflowException as exc:
        raise ConfigError(f"mlflow.experiment: {exc.message} (a non-empty name of at most 500 characters)") from exc


def _param_lengths(cfg: Any) -> None:
    """Every config value becomes an MLflow param; the store refuses a value longer than MLflow's limit."""
    from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

    own = {key: OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
           for key in cfg if key != "hydra"}  # fmt: skip
    for key, value in _flatten(own):
        if len(str(value)) > MAX_PARAM_VAL_LENGTH:
            raise ConfigError(
                f"{key}: {len(str(value))} characters long; MLflow stores a param of at most {MAX_PARAM_VAL_LENGTH}",
                key,
            )


def _flatten(tree: Any, prefix: str = ""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flatten(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], tree


def read_data(cfg: Any) -> data.Dataset:
    """Read the job's data as stored (missing or corrupt data raise DataError) and check that its limit fits."""
    stored = data.raw(cfg.data.name, cfg.data.path)
    fits_data(cfg, len(stored.x_train))
    return stored


def fits_data(cfg: Any, n_stored: int) -> None:
    """The training images left after data.limit must split into a training and a validation part (as Keras does)."""
    n = n_stored if cfg.data.limit is None else min(cfg.data.limit, n_stored)
    split = cfg.train.validation_split
    if not _splits(n, split):
        least = max(2, math.ceil(1 / (1 - split)))
        while not _splits(least, split):  # a step or two past the estimate, where rounding bites
            least += 1
        raise ConfigError(
            f"data.limit: {n} training images cannot be split by train.validation_split={split} into a training and "
            f"a validation part; use data.limit >= {least} or another split",
            "data.limit",
        )


def _splits(n: int, split: float) -> bool:
    """Keras' validation_split: the first floor(n * (1 - split)) images train, the rest validate; both non-empty."""
    return 1 <= math.floor(n * (1.0 - split)) <= n - 1
