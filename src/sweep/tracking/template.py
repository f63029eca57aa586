"""A new SQLite store copied from a pre-migrated empty one instead of running MLflow's ~50 migrations again.

Creating a store runs every Alembic migration of MLflow's schema: 1.5-3.8 s of CPU on 2 cores, on the critical path
of a sweep's start-up (and of every test with a store of its own). The first store this process creates at a
schema revision is kept, while still pristine (the Default experiment, no run), under `$SWEEP_STORE_TEMPLATES`
(default `~/.cache/sweep/stores`; `off` disables) as `mlflow-<version>-<revision>.db`; a later new store is that
file copied (SQLite's backup API) with the Default experiment's artifact location and times set as MLflow would set
them here. Only under sweep's lock on the store's folder, and only where no file exists yet (os.link: never over a
store another process made meanwhile). Written by hand: MLflow has no template stores.
"""

import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Optional

ENV = "SWEEP_STORE_TEMPLATES"


def _path() -> Optional[Path]:
    spec = os.environ.get(ENV, "")
    if spec.lower() == "off":
        return None
    import mlflow

    from sweep.tracking import store_check

    base = Path(spec).expanduser() if spec else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    base = base if spec else base / "sweep" / "stores"
    return base / f"mlflow-{mlflow.__version__}-{store_check.latest_revision()}.db"


def _backup(source: Path, target: Path) -> None:
    """A consistent copy in rollback-journal mode, every connection closed: the file is whole on its own."""
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")


def copy_to(db: Path) -> bool:
    """Create `db` as a copy of the kept empty store of this schema; False (nothing done) when there is none."""
    kept = _path()
    if kept is None or not kept.is_file() or db.exists():
        return False
    scratch = db.with_name(f".{db.name}.{os.getpid()}.new")
    try:
        _backup(kept, scratch)
        now = int(time.time() * 1000)
        with closing(sqlite3.connect(scratch)) as con:  # as MLflow creates it from here: ./mlruns/0, now
            location = str(Path.cwd() / "mlruns" / "0")
            con.execute(
                "update experiments set artifact_location = ?, creation_time = ?, last_update_time = ? "
                "where experiment_id = 0",
                (location, now, now),
            )
            con.commit()
        os.link(scratch, db)  # fails if a store appeared meanwhile: that one is kept, this copy dropped
        return True
    except (OSError, sqlite3.Error):
        return False
    finally:
        scratch.unlink(missing_ok=True)


def keep(db: Path) -> None:
    """Keep a store this process just created as the template of its schema, if it is still pristine."""
    kept = _path()
    if kept is None or kept.exists():
        return
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as con:
            experiments = con.execute("select count(*) from experiments").fetchone()[0]
            runs = con.execute("select count(*) from runs").fetchone()[0]
        if experiments != 1 or runs:
            return
        kept.parent.mkdir(parents=True, exist_ok=True)
        scratch = kept.with_name(f".{kept.name}.{os.getpid()}.new")
        _backup(db, scratch)
        os.replace(scratch, kept)
    except (OSError, sqlite3.Error):
        pass
