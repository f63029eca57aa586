"""Which kind of Hydra app a sweeper serves: sweep.train (its callback prepares MLflow and checks every job) or any
other app (the sweeper checks its own options, and the task's return value is the result). Kept free of heavy imports.
"""

from typing import Any, Optional

from omegaconf import OmegaConf

SWEEP_CALLBACK = "sweep.launch.callback.SweepCallback"
ENV_TRIAL = "SWEEP_TRIAL"  # = sweep.tracking.study.ENV_TRIAL: set in the environment of a search trial's job


def callback(config: Any, target: str) -> Optional[Any]:
    """The settings of the Hydra callback of this `_target_` among the config's hydra.callbacks, else None."""
    callbacks = OmegaConf.select(config, "hydra.callbacks", default=None) or {}
    return next((c for c in callbacks.values() if OmegaConf.select(c, "_target_", default=None) == target), None)


def is_sweep_train(config: Any) -> bool:
    """Whether the multirun's config is sweep.train's: sweep's multirun callback is among its Hydra callbacks."""
    return callback(config, SWEEP_CALLBACK) is not None


# Hydra's launchers log every job's overrides (with the environment sweep hands it): the sweepers' lines say enough
QUIET_LOGGERS = (
    "hydra._internal.core_plugins.basic_launcher",
    "hydra_plugins.hydra_joblib_launcher._core",
    "hydra_plugins.sweep_launchers.fused_launcher",
    "hydra_plugins.hydra_ray_launcher._core",
    "hydra_plugins.hydra_ray_launcher._launcher_util",
)
