"""Shared fixtures: a SQLite MLflow store in a temp dir, a temp launch dir, and small real Fashion-MNIST subsets."""

import gzip
import os
from pathlib import Path

import mlflow
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from sweep import data
from sweep.config import schema  # noqa: F401  (importing schema registers it for compose)

CONF = Path(__file__).resolve().parents[1] / "conf"
DEBIAN = data.DEBIAN_FASHION_MNIST
N_TRAIN, N_TEST = 1200, 400
STUDY_SHAPE = data.Shape((28, 28), 10)  # MNIST's and Fashion-MNIST's images and classes


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an uint8 array as a gzipped IDX file (the MNIST layout)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="session")
def fashion_raw() -> data.Dataset:
    """The real Fashion-MNIST from Debian's dataset-fashion-mnist package (never downloaded)."""
    assert DEBIAN.is_dir(), "tests need Debian's dataset-fashion-mnist (apt-get install -y dataset-fashion-mnist)"
    return data.load_idx_dir(DEBIAN)


@pytest.fixture(scope="session")
def fashion_small(tmp_path_factory, fashion_raw) -> Path:
    """A directory of gzipped IDX files holding the first real Fashion-MNIST images: 1200 train, 400 test."""
    out = tmp_path_factory.mktemp("fashion_small")
    subset = {
        "x_train": fashion_raw.x_train[:N_TRAIN],
        "y_train": fashion_raw.y_train[:N_TRAIN],
        "x_test": fashion_raw.x_test[:N_TEST],
        "y_test": fashion_raw.y_test[:N_TEST],
    }
    for key, stem in data.IDX_FILES.items():
        write_idx(out / f"{stem}.gz", subset[key])
    return out


@pytest.fixture(autouse=True)
def isolated(tmp_path, tmp_path_factory, monkeypatch):
    """Every test gets its own launch dir, SQLite store, Keras home and no inherited sweep context; the prepared data
    cache (sweep.data.cache) and the empty stores new ones are copied from (sweep.tracking.template) are the
    session's own, shared by its tests, never the user's."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)  # the fluent API keeps a process-wide URI that would outlive the env var
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    for name in [n for n in os.environ if n.startswith("SWEEP_")]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SWEEP_DATA_CACHE", str(tmp_path_factory.getbasetemp() / "prepared-data"))
    monkeypatch.setenv("SWEEP_STORE_TEMPLATES", str(tmp_path_factory.getbasetemp() / "store-templates"))
    data.load.cache_clear()
    data.raw.cache_clear()
    yield tmp_path


def compose_cfg(*overrides: str):
    """Compose conf/config.yaml through Hydra's compose API, as the app would with these overrides."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))
