"""Before a sweep on a running Ray cluster (hydra/launcher=ray with RAY_ADDRESS): checked before any run exists.

The head answers; the driver is let in (a cluster with token auth refuses a wrong RAY_AUTH_TOKEN); every alive node
can import sweep (its jobs would fail there one by one); and, once the cluster has more than one node, the tracking
store and a search's study storage are reachable from all of them: a SQLite file or a journal on this machine is
not (start a tracking server, docs/team.md; give the study a database URL). The driver disconnects after the
check: Hydra's Ray launcher connects itself, with the job environment the sweep's callback prepares later.
"""

import socket
from typing import Any, List, Optional

from omegaconf import DictConfig, OmegaConf

from sweep.config.hydra_settings import RAY

CONNECT_TIMEOUT_S = 5.0
LOCAL = ("", "local", "auto", None)


def address(config: DictConfig) -> Optional[str]:
    """The running cluster a Ray sweep joins, or None (not Ray, or a new local Ray for this sweep alone)."""
    if config.hydra.launcher.get("_target_") != RAY:
        return None
    given = OmegaConf.select(config.hydra.launcher, "ray.init.address", default=None)
    return None if given in LOCAL else str(given)


def _answers(where: str) -> None:
    host, _, port = where.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"RAY_ADDRESS={where}: no Ray head answers there ({exc}); start one (ray start --head) or fix the address"
        ) from None


def _connect(where: str) -> Any:
    import ray

    try:
        ray.init(address=where, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    except Exception as exc:  # noqa: BLE001 - any refusal: one line naming the address and why
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        token = " (RAY_AUTH_TOKEN: the cluster's token?)" if "auth" in text.lower() or "token" in text.lower() else ""
        raise ValueError(f"RAY_ADDRESS={where}: the cluster refused this driver{token}: {text}") from None
    return ray


def _version() -> str:
    import sweep

    return sweep.__version__


def _without_sweep(ray: Any, nodes: List[dict]) -> List[str]:
    """The nodes where a task cannot import sweep (their addresses)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(num_cpus=0, max_retries=0)(_version)
    missing = []
    for node in nodes:
        strategy = NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False)
        try:
            ray.get(probe.options(scheduling_strategy=strategy).remote(), timeout=120)
        except Exception:  # noqa: BLE001 - sweep does not import there (or the node cannot run a task at all)
            missing.append(node["NodeManagerAddress"])
    return missing


def _local(uri: str) -> bool:
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def _study_storage(config: DictConfig) -> Optional[str]:
    """A search's study storage as given (its default: a journal file under the launch directory), else None."""
    sweeper = config.hydra.sweeper
    if not str(sweeper.get("_target_", "")).endswith(".SearchSweeper"):
        return None
    return sweeper.get("storage") or "mlruns/optuna.journal"


def check(config: DictConfig, uri: str) -> None:
    """ValueError (one line) if the cluster, its nodes or the stores cannot carry the sweep; nothing is created."""
    where = address(config)
    if where is None:
        return
    storage = _study_storage(config)
    _answers(where)
    ray = _connect(where)
    try:
        nodes = [node for node in ray.nodes() if node.get("Alive")]
        missing = _without_sweep(ray, nodes)
        if missing:
            raise ValueError(
                f"RAY_ADDRESS={where}: sweep does not import on node(s) {', '.join(missing)}; install it there "
                "(pip install sweep, the same version) or remove those nodes"
            )
        if len(nodes) > 1 and _local(uri):
            raise ValueError(
                f"MLFLOW_TRACKING_URI={uri}: a store on this machine, which the cluster's other {len(nodes) - 1} "
                "node(s) cannot reach; start a tracking server (docs/team.md) and set MLFLOW_TRACKING_URI=http://..."
            )
        if len(nodes) > 1 and storage and "://" not in storage:
            raise ValueError(
                f"hydra.sweeper.storage={storage}: a journal file on this machine, which the cluster's other "
                f"{len(nodes) - 1} node(s) cannot reach; give the study a database URL (postgresql+psycopg2://...)"
            )
    finally:
        ray.shutdown()
