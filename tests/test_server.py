"""The team stack without Docker: a real 2 x 2 sweep over HTTP to `mlflow server` on PostgreSQL, served artifacts."""

from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
import psycopg2
import pytest
from mlflow import MlflowClient
from mlflow.models import Model

from sweep.tracking import store
from tests import servers

CELLS = {("none", "relu"), ("none", "sigmoid"), ("l2", "relu"), ("l2", "sigmoid")}
SERVED = "mlflow-artifacts:/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A private PostgreSQL cluster and `mlflow server` on it, started once for this module."""
    root = tmp_path_factory.mktemp("server")
    with servers.postgres() as db, servers.mlflow_server(db, root / "artifacts", root / "mlflow.log") as url:
        yield SimpleNamespace(url=url, db=db, artifacts=root / "artifacts")


@pytest.fixture(scope="module")
def swept(server, fashion_small, tmp_path_factory):
    """One real 2 x 2 multirun and one `sweep.compare`, each a subprocess that knows only the server's URL."""
    where = tmp_path_factory.mktemp("launch")
    env = servers.clean_env(MLFLOW_TRACKING_URI=server.url)
    overrides = ["reg=none,l2", "act=relu,sigmoid", "data=fashion_mnist", f"data.path={fashion_small}"]
    train = servers.run_python("sweep.train", "-m", *overrides, "train.epochs=1", cwd=where, env=env)
    assert train.returncode == 0, train.stdout[-2000:] + train.stderr[-3000:]
    compare = servers.run_python("sweep.compare", cwd=where, env=env)
    client = MlflowClient(server.url)
    experiment = client.get_experiment_by_name("sweep")
    runs = client.search_runs([experiment.experiment_id])
    return SimpleNamespace(
        where=where,
        compare=compare,
        experiment=experiment,
        parents=[r for r in runs if r.data.tags.get(store.TAG_ROLE) == "parent"],
        jobs=[r for r in runs if r.data.tags.get(store.TAG_ROLE) == "job"],
    )


@pytest.fixture
def on_server(server, monkeypatch):
    """Point this test process's fluent MLflow API at the server."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    return server


def test_every_run_lands_on_the_server_under_one_parent(swept):
    assert len(swept.parents) == 1 and len(swept.jobs) == 4
    parent = swept.parents[0]
    assert parent.info.status == "FINISHED"
    for job in swept.jobs:
        assert job.info.status == "FINISHED"
        assert job.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert job.data.tags[store.TAG_SWEEP] == parent.data.tags[store.TAG_SWEEP]
    assert {(j.data.params["reg"], j.data.params["act"]) for j in swept.jobs} == CELLS


def test_postgresql_holds_the_runs(server, swept):
    with psycopg2.connect(server.db.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT status, count(*) FROM runs WHERE experiment_id = %s GROUP BY status",
            (swept.experiment.experiment_id,),
        )
        assert dict(cur.fetchall()) == {"FINISHED": 5}


def test_artifacts_are_served_and_stored_by_the_server(server, swept):
    assert swept.experiment.artifact_location.startswith(SERVED)
    for run in swept.parents + swept.jobs:
        assert run.info.artifact_uri.startswith(SERVED), run.info.artifact_uri
    for job in swept.jobs:
        stored = server.artifacts / job.info.artifact_uri[len(SERVED) :]
        assert (stored / "plots" / "accuracy.png").is_file()
    assert not (swept.where / "mlruns").exists()  # nothing written beside the job


def test_compare_reads_the_sweep_over_http(server, swept):
    assert swept.compare.returncode == 0, swept.compare.stderr[-3000:]
    table = pd.read_csv(swept.where / "reports" / "accuracy.csv")
    assert set(zip(table["reg"], table["act"], strict=True)) == CELLS and set(table["status"]) == {"FINISHED"}
    for job in swept.jobs:
        assert f"{job.data.metrics['test_accuracy']:.4f}" in swept.compare.stdout
    logged = {a.path for a in MlflowClient(server.url).list_artifacts(swept.parents[0].info.run_id, "compare")}
    assert "compare/accuracy.csv" in logged


def test_a_logged_model_downloads_through_the_server_and_predicts(on_server, swept, tmp_path):
    job = swept.jobs[0]
    models = mlflow.search_logged_models(
        experiment_ids=[swept.experiment.experiment_id],
        filter_string=f"source_run_id = '{job.info.run_id}'",
        output_format="list",
    )
    assert len(models) == 1 and models[0].artifact_location.startswith(SERVED)
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{models[0].model_id}", dst_path=str(tmp_path)))
    example = Model.load(local).load_input_example(local)
    probabilities = np.asarray(mlflow.pyfunc.load_model(str(local)).predict(example))
    assert probabilities.shape == (len(example), 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
