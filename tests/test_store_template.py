"""A new SQLite store copied from a pre-migrated empty one is the store MLflow would have made (issue 29)."""

import sqlite3

from mlflow import MlflowClient

from sweep.tracking import store, store_check, template


def _schema(db) -> list:
    with sqlite3.connect(db) as con:
        return sorted(con.execute("select type, name, sql from sqlite_master where name not like 'sqlite_%'"))


def test_a_copied_store_has_mlflows_schema_and_default_experiment_and_takes_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(template.ENV, str(tmp_path / "templates"))
    made = tmp_path / "made" / "mlflow.db"
    store.prepare_experiment(f"sqlite:///{made}", "sweep")  # migrated by MLflow, then kept as the template
    (kept,) = (tmp_path / "templates").iterdir()
    assert kept.name.endswith(f"{store_check.latest_revision()}.db")
    monkeypatch.chdir(tmp_path / "made")
    copied = tmp_path / "copied" / "mlflow.db"
    uri = f"sqlite:///{copied}"
    experiment_id = store.prepare_experiment(uri, "sweep")
    assert _schema(copied) == _schema(made)
    client = MlflowClient(uri)
    default = client.get_experiment("0")
    assert default.name == "Default" and default.artifact_location == str(tmp_path / "made" / "mlruns" / "0")
    run = client.create_run(experiment_id)
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    with sqlite3.connect(copied) as con:
        assert con.execute("pragma journal_mode").fetchone() == ("wal",)


def test_only_a_pristine_store_is_kept_and_an_existing_file_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv(template.ENV, str(tmp_path / "templates"))
    used = tmp_path / "used" / "mlflow.db"
    monkeypatch.setenv(template.ENV, "off")  # made without a template, then given a run: not pristine
    experiment_id = store.prepare_experiment(f"sqlite:///{used}", "sweep")
    MlflowClient(f"sqlite:///{used}").create_run(experiment_id)
    monkeypatch.setenv(template.ENV, str(tmp_path / "templates"))
    template.keep(used)
    assert not (tmp_path / "templates").exists()
    assert not template.copy_to(used) and len(MlflowClient(f"sqlite:///{used}").search_runs([experiment_id])) == 1
