"""`hydra/callbacks=mlflow`: sweep's MLflow tracking for any Hydra app (sweep.apps.tracking; docs/hydra.md).

Only a config node is registered here: MLflow is imported when Hydra instantiates the callback, never at plugin scan.
"""

from hydra.core.config_store import ConfigStore

ConfigStore.instance().store(
    group="hydra/callbacks",
    name="mlflow",
    node={"mlflow": {"_target_": "sweep.apps.tracking.TrackingCallback", "experiment": None}},
    provider="sweep",
)
