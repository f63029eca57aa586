"""Create or migrate a SQLite store once, however many processes start on it together.

Our own processes (two sweeps started at once on one new store) take turns through a lock on the store's directory.
A process outside sweep (an open `mlflow ui`, a script polling the store) migrates the same new file without that
lock, and one side then loses a race in Alembic's migrations ("table _alembic_tmp_... already exists", "duplicate
column name", or a store left between two revisions): the loser here waits and reaches the store again, finishes
the migrations if they stay unfinished, and finally checks that the schema is complete and current.
"""

import fcntl
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sweep.tracking import store_check, template
from sweep.tracking.errors import StoreError

# What a migration that another process runs at the same moment looks like from here.
RACE = ("already exists", "duplicate column", "database is locked", "no such table", "out-of-date database schema")
ATTEMPTS, WAIT_S = 8, 0.5  # up to 14 s of waiting: a new store's migrations took 2-5 s here
YOUNG_S = 60
TMP = "_alembic_tmp_"  # Alembic's copy of a table during a batch step on SQLite
FINISH_AFTER = 3  # attempts that find a migration unfinished before this process finishes it


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on a directory (flock on its descriptor: no lock file is left beside the store)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def migrating(db: Path) -> bool:
    """Whether a store whose schema is behind is being created right now (written in the last YOUNG_S seconds).

    A store an older MLflow left is refused with `mlflow db upgrade` advice; one that another process is creating
    beside us is between two revisions for a few seconds, and `reach` waits for it or finishes it.
    """
    try:
        return time.time() - db.stat().st_mtime < YOUNG_S
    except OSError:
        return False


def raced(exc: BaseException) -> bool:
    """Whether a failure to reach a SQLite store is another process's migration running at the same time."""
    text = f"{exc} {exc.__cause__ or ''}".lower()
    return any(sign in text for sign in RACE)


def reach(uri: str, db: Path, probe: Callable[[str], None]) -> None:
    """Reach a SQLite store through `probe(uri)` (which creates and migrates it), racing with readers; then check it.

    Raises StoreError when the store is still broken or incomplete after the last attempt.
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    with locked(db.parent):
        new = not db.exists()
        copied = new and template.copy_to(db)  # a pre-migrated empty store, where one is kept
        fresh = new or migrating(db)  # being created: any failure may be a migration beside us
        for attempt in range(1, ATTEMPTS + 1):
            try:
                probe(uri)
                store_check.check(uri)  # complete and current: a migration under way elsewhere is not done yet
                _wal(db)
                if new and not copied:
                    template.keep(db)  # the next new store is a copy of this one
                break
            except store_check.OutdatedSchema:
                # The preflight found this store absent, empty or current: a migration began here or beside us
                # and has not finished. Wait for it; then finish it as `mlflow db upgrade` would.
                if attempt == ATTEMPTS:
                    raise
            except StoreError as exc:
                if attempt == ATTEMPTS or not (fresh or raced(exc)):
                    raise
            if fresh and attempt >= FINISH_AFTER:
                _upgrade(uri, db)
            time.sleep(WAIT_S * attempt)


def _wal(db: Path) -> None:
    """WAL lets parallel jobs write while others read; it is a persistent property of the database file."""
    try:
        with sqlite3.connect(db, timeout=30) as con:
            con.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:  # locked past the timeout: by a migration beside us, tried again
        raise StoreError(f"{store_check.KEY}: {db}: {exc}") from exc


def _leftovers(db: Path) -> None:
    """Drop the copies an interrupted Alembic batch step left (`_alembic_tmp_X` beside an intact `X`).

    On SQLite a batch step (copy a table, drop it, rename the copy) is not one transaction: a step that lost the race
    leaves its copy, and every later run of the step fails on "table _alembic_tmp_X already exists". Only for a store
    being created, which holds no runs yet.
    """
    with sqlite3.connect(db, timeout=30) as con:
        tables = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
        for name in sorted(t for t in tables if t.startswith(TMP) and t[len(TMP) :] in tables):
            con.execute(f'drop table "{name}"')


def _upgrade(uri: str, db: Path) -> None:
    """Run MLflow's remaining migrations on the store (what `mlflow db upgrade` does); a failure is retried."""
    from mlflow.store.db.utils import _upgrade_db, create_sqlalchemy_engine

    engine = create_sqlalchemy_engine(uri)
    try:
        _leftovers(db)
        _upgrade_db(engine)
    except Exception:  # noqa: BLE001 - another process's migration again: the next attempt looks anew
        pass
    finally:
        engine.dispose()
