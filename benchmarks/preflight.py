"""What each check of a sweep's setup costs at start-up (ms, median of several), on this machine's real files.

python benchmarks/preflight.py [--repeat 5]: the checks that run before anything is created (store, data, search
storage, config), then the creation steps, timed each alone in one process after its imports.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from sweep import data
from sweep.config import CONF_DIR, checks, limits, schema  # noqa: F401 - importing schema registers it
from sweep.data import sources
from sweep.tracking import store, store_check, study


def ms(step, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    tmp = Path(tempfile.mkdtemp())
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", ["data=fashion_mnist"])
    existing = f"sqlite:///{tmp / 'existing.db'}"
    store.prepare_experiment(existing, "sweep")
    fresh = (f"sqlite:///{tmp / f'fresh{n}.db'}" for n in range(1000))
    as_float = data.Dataset(*(a.astype("float32") for a in data.raw("fashion_mnist", None)))
    rows = [  # checked first, creating nothing
        ("config ranges and limits (one job)", lambda: checks.validate(cfg)),
        ("store: a new SQLite file's place", lambda: store_check.check(f"sqlite:///{tmp / 'new' / 'mlflow.db'}")),
        ("store: an existing store's header and schema", lambda: store_check.check(existing)),
        ("search storage: a journal's place", lambda: study.check_writable(str(tmp / "optuna.journal"))),
        ("data: Fashion-MNIST read and checked", lambda: (data.raw.cache_clear(), limits.read_data(cfg))),
        ("data: the NaN/inf scan alone, 70,000 float32 images", lambda: sources.finite(as_float, tmp)),
    ]
    created = [  # then made, once everything above has passed
        ("create: a new store (migrations) and its experiment", lambda: store.prepare_experiment(next(fresh), "s")),
        ("create: the experiment on an existing store", lambda: store.prepare_experiment(existing, "sweep")),
    ]
    for name, step in rows + created:
        print(f"{name:58s} {ms(step, repeat):9.1f} ms")


if __name__ == "__main__":
    main()
