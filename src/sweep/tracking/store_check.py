"""Look at a tracking store before anything writes to it: a store that cannot hold the sweep is refused, unchanged.

Nothing here creates, migrates or connects to a server: the URI's scheme is checked against MLflow's registry, and
a SQLite file is read through a read-only connection. `store.prepare_experiment` reaches a server, and creates or
migrates a store, only after this has passed.
"""

import sqlite3
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from sweep.tracking import places, secrets
from sweep.tracking.errors import StoreError

KEY = "MLFLOW_TRACKING_URI"
SQLITE_HEADER = b"SQLite format 3\x00"
ALLOWED = "sqlite:///<path>.db, http(s)://<mlflow server>, postgresql://, mysql:// or mssql:// <database>"
FILE_STORE = ("", "file")  # MLflow's old file store: refused by MLflow 3.13+ (shared/FACTS.md)


class OutdatedSchema(StoreError):
    """The store's schema is not this MLflow's: older, or another process is migrating it right now."""


def _refuse(uri: str, what: str, todo: str, kind: type = StoreError) -> StoreError:
    return kind(f"{KEY}={secrets.display_uri(uri)}: {what}; {todo}")


def known_schemes() -> list:
    """The URI schemes MLflow has a tracking store for (its own registry), but the refused file store's."""
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    return [s for s in _tracking_store_registry._registry if s not in FILE_STORE]


def check(uri: str) -> None:
    """Raise StoreError (one line naming MLFLOW_TRACKING_URI) unless the store can take the sweep's runs."""
    scheme = urlsplit(uri).scheme.partition("+")[0]  # postgresql+psycopg2 is postgresql's driver choice
    if scheme in FILE_STORE:
        raise _refuse(uri, "MLflow no longer keeps runs in plain folders", "use sqlite:///<path>/mlflow.db")
    if scheme not in known_schemes():
        raise _refuse(uri, f"unknown scheme {scheme!r}", f"allowed: {ALLOWED}")
    if scheme == "sqlite":
        _sqlite(uri)


def _sqlite(uri: str) -> None:
    path = uri[len("sqlite:///") :]
    if not path or path == ":memory:" or path.startswith("file:"):
        todo = "name a file: sqlite:///<path>/mlflow.db (jobs run in other processes)"
        raise _refuse(uri, "not a database file", todo)
    db = Path(path).resolve()
    wrong = places.problem(db)
    if wrong:
        raise _refuse(uri, wrong, "name a database file in a writable directory, e.g. sqlite:///mlruns/mlflow.db")
    if db.exists():
        _existing(uri, db)


def _existing(uri: str, db: Path) -> None:
    with db.open("rb") as f:
        head = f.read(len(SQLITE_HEADER))
    if not head:
        return  # an empty file: SQLite takes it as a new database
    if head != SQLITE_HEADER:
        raise _refuse(uri, f"{db} is not a SQLite database", "point it at an MLflow store or at a new file")
    revision, tables = _schema(uri, db)
    if "experiments" not in tables:
        if tables - {"alembic_version"}:
            named = ", ".join(sorted(tables)[:5])
            raise _refuse(uri, f"{db} is a SQLite database but not an MLflow store (tables {named})", "use a new file")
        return  # empty, or left with no table by a creation that failed: MLflow creates it anew
    head_revision = latest_revision()
    if revision != head_revision:
        raise _refuse(
            uri,
            f"the store's schema is {revision}, this MLflow's is {head_revision}",
            f"back it up, then run: mlflow db upgrade {secrets.display_uri(uri)}",
            OutdatedSchema,
        )


def _schema(uri: str, db: Path) -> "tuple[Optional[str], set]":
    """The store's alembic revision and its tables, read without writing (a read-only connection)."""
    try:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10) as con:
            tables = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
            has_version = "alembic_version" in tables
            found = con.execute("select version_num from alembic_version").fetchall() if has_version else []
    except sqlite3.DatabaseError as exc:
        raise _refuse(uri, f"{db} cannot be read as a SQLite database ({exc})", "point it at an MLflow store") from None
    return (found[0][0] if found else None), tables


def latest_revision() -> str:
    """The schema revision this MLflow writes (the head of its migrations)."""
    from mlflow.store.db.utils import _get_latest_schema_revision

    return _get_latest_schema_revision()
