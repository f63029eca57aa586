"""Which kind of Hydra app a sweeper serves: sweep.train (its callback prepares MLflow and checks every job) or any
other app (the sweeper checks its own options, and the task's return value is the result). Kept free of heavy imports.
"""

from typing import Any

from omegaconf import OmegaConf

SWEEP_CALLBACK = "sweep.launch.callback.SweepCallback"
ENV_TRIAL = "SWEEP_TRIAL"  # = sweep.tracking.study.ENV_TRIAL: set in the environment of a search trial's job


def is_sweep_train(config: Any) -> bool:
    """Whether the multirun's config is sweep.train's: sweep's multirun callback is among its Hydra callbacks."""
    callbacks = OmegaConf.select(config, "hydra.callbacks", default=None) or {}
    return any(OmegaConf.select(c, "_target_", default=None) == SWEEP_CALLBACK for c in callbacks.values())


# Hydra's launchers log every job's overrides (with the environment sweep hands it): the sweepers' lines say enough
QUIET_LOGGERS = (
    "hydra._internal.core_plugins.basic_launcher",
    "hydra_plugins.hydra_joblib_launcher._core",
    "hydra_plugins.sweep_launchers.fused_launcher",
    "hydra_plugins.hydra_ray_launcher._core",
    "hydra_plugins.hydra_ray_launcher._launcher_util",
)
