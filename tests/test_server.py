"""The team stack without Docker: PostgreSQL, `mlflow server` with basic auth started as compose starts it, and a
real 2 x 2 sweep over HTTP that outlives the server's SIGKILL; served artifacts, logins, permissions, no secret kept.
"""

import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
import psycopg2
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.models import Model

from sweep.tracking import access, liveness, store
from tests import servers

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

CELLS = {("none", "relu"), ("none", "sigmoid"), ("l2", "relu"), ("l2", "sigmoid")}
EPOCHS = 3
PER_EPOCH = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time_s")
SERVED = "mlflow-artifacts:/"
CREDENTIALS = "MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD"
CONSOLE = []  # every command's output in this module, for the secrets test


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """PostgreSQL holding the runs and MLflow's users (two databases), `mlflow server --app-name basic-auth` on it
    through docker/mlflow/start-server.sh, and two users: alice, who trains, and bob, who only reads (by default)."""
    root = tmp_path_factory.mktemp("server")
    with servers.cluster() as pg:
        pg.run_init_script(servers.AUTH_DB_SCRIPT, MLFLOW_AUTH_DB="users")  # as compose's postgres creates it
        auth = servers.Auth(pg.uri("users"))
        db = pg.create_database("mlflow")
        team = servers.MlflowServer(db, root / "artifacts", root / "mlflow.log", auth)
        team.start()
        try:
            passwords = {"alice": "alice-" + secrets.token_hex(8), "bob": "bob-" + secrets.token_hex(8)}
            for name, password in passwords.items():
                servers.create_user(team.url, auth, name, password)
            yield SimpleNamespace(
                url=team.url, process=team, pg=pg, db=db, auth=auth, passwords=passwords, artifacts=root / "artifacts"
            )
        finally:
            team.stop()


def login(server, user: str, password: str = None) -> dict:
    """MLflow's login variables for a user of the server (their own password unless another is given)."""
    return {"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password or server.passwords[user]}


def run(module: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a sweep command with exactly this environment; keep its output for the secrets test."""
    done = servers.run_python(module, *args, cwd=cwd, env=servers.clean_env(PYTHONUNBUFFERED="1", **env))
    CONSOLE.append(done.stdout + done.stderr)
    return done


def sweep_through_a_kill(server, where: Path, overrides: list) -> str:
    """Run alice's sweep (her login in the URI); SIGKILL the server once the first job starts, restart it at once."""
    user_uri = server.url.replace("://", f"://alice:{server.passwords['alice']}@")
    env = servers.clean_env(MLFLOW_TRACKING_URI=user_uri, PYTHONUNBUFFERED="1")
    log = where / "train.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sweep.train", "-m", *overrides], cwd=where, env=env, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 300
    while "[sweep] cell 1 of 4" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, log.read_text()[-5000:]
    server.process.kill()  # mid-sweep: jobs are creating their runs and logging
    killed = time.monotonic()
    server.process.start()
    server.outage_s = time.monotonic() - killed
    assert proc.wait(timeout=600) == 0, log.read_text()[-5000:]
    CONSOLE.append(log.read_text())
    return log.read_text()


@pytest.fixture(scope="module")
def swept(server, fashion_small, tmp_path_factory):
    """One real 2 x 2 multirun (3 epochs) through a server outage, then alice's `sweep.compare` (login variables)."""
    where = tmp_path_factory.mktemp("launch")
    overrides = ["reg=none,l2", "act=relu,sigmoid", "data=fashion_mnist", f"data.path={fashion_small}"]
    train = sweep_through_a_kill(server, where, [*overrides, f"train.epochs={EPOCHS}"])
    compare = run("sweep.compare", cwd=where, MLFLOW_TRACKING_URI=server.url, **login(server, "alice"))
    client = MlflowClient(server.url)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_USERNAME", "alice")
        env.setenv("MLFLOW_TRACKING_PASSWORD", server.passwords["alice"])
        experiment = client.get_experiment_by_name("sweep")
        runs = client.search_runs([experiment.experiment_id])
        history = {(r.info.run_id, k): client.get_metric_history(r.info.run_id, k) for r in runs for k in PER_EPOCH}
    return SimpleNamespace(
        where=where,
        train=train,
        compare=compare,
        experiment=experiment,
        history=history,
        parents=[r for r in runs if r.data.tags.get(store.TAG_ROLE) == "parent"],
        jobs=[r for r in runs if r.data.tags.get(store.TAG_ROLE) == "job"],
    )


@pytest.fixture
def as_alice(server, monkeypatch):
    """Point this test process's MLflow at the server, logged in as alice."""
    for key, value in {"MLFLOW_TRACKING_URI": server.url, **login(server, "alice")}.items():
        monkeypatch.setenv(key, value)
    mlflow.set_tracking_uri(server.url)
    return server


def stored(server) -> tuple:
    """How many runs and experiments the store holds (straight from PostgreSQL)."""
    with psycopg2.connect(server.db.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM experiments)")
        return cur.fetchone()


def test_every_run_lands_on_the_server_under_one_parent(server, swept):
    assert len(swept.parents) == 1 and len(swept.jobs) == 4
    parent = swept.parents[0]
    assert parent.info.status == "FINISHED"
    for job in swept.jobs:
        assert job.info.status == "FINISHED"
        assert job.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert job.data.tags[store.TAG_SWEEP] == parent.data.tags[store.TAG_SWEEP]
    assert {(j.data.params["reg"], j.data.params["act"]) for j in swept.jobs} == CELLS
    assert server.outage_s > 5  # the server really was down while the jobs ran


def test_every_epoch_point_is_stored_exactly_once_after_the_outage(swept):
    for job in swept.jobs:
        for key in PER_EPOCH:
            steps = sorted(m.step for m in swept.history[(job.info.run_id, key)])
            assert steps == list(range(1, EPOCHS + 1)), (job.info.run_name, key, steps)


def test_requests_retried_after_their_answer_was_lost_leave_no_second_copy(as_alice):
    # What MLflow's retry sends again when the first try reached the database: the same request, byte for byte.
    client = MlflowClient(as_alice.url)
    experiment_id = client.create_experiment("retried-requests")
    tags = {store.TAG_ROLE: "job", **liveness.owner_tags()}
    run, copy = (client.create_run(experiment_id, tags=tags) for _ in range(2))  # a create_run sent twice
    batch = [Metric("loss", 0.5, 1700000000000, 1), Metric("accuracy", 0.8, 1700000000000, 1)]
    client.log_batch(run.info.run_id, metrics=batch)
    client.log_batch(run.info.run_id, metrics=batch)
    assert [len(client.get_metric_history(run.info.run_id, key)) for key in ("loss", "accuracy")] == [1, 1]
    liveness.drop_copies(as_alice.url, run)  # what a job and the parent do right after creating their run
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run.info.run_id]
    assert client.get_run(copy.info.run_id).info.status == "KILLED"


def test_postgresql_holds_the_runs(server, swept):
    # A create request retried across the outage may have made a copy of a run: it must be retired (KILLED, deleted,
    # tagged a copy), never left among the sweep's runs. Whether one was made depends on when the kill landed.
    with psycopg2.connect(server.db.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT r.status, r.lifecycle_stage, t.value, count(*) FROM runs r LEFT JOIN tags t"
            " ON t.run_uuid = r.run_uuid AND t.key = %s WHERE r.experiment_id = %s GROUP BY 1, 2, 3",
            (store.TAG_ROLE, swept.experiment.experiment_id),
        )
        found = {row[:3]: row[3] for row in cur.fetchall()}
    active = {key: n for key, n in found.items() if key[1] == "active"}
    assert active == {("FINISHED", "active", "parent"): 1, ("FINISHED", "active", "job"): 4}
    assert set(found) - set(active) <= {("KILLED", "deleted", "copy")}, found


def test_artifacts_are_served_and_stored_by_the_server(server, swept):
    assert swept.experiment.artifact_location.startswith(SERVED)
    for run in swept.parents + swept.jobs:
        assert run.info.artifact_uri.startswith(SERVED), run.info.artifact_uri
    for job in swept.jobs:
        stored = server.artifacts / job.info.artifact_uri[len(SERVED) :]
        assert (stored / "plots" / "accuracy.png").is_file()
    assert not (swept.where / "mlruns").exists()  # nothing written beside the job


def test_compare_reads_the_sweep_over_http(as_alice, swept):
    assert swept.compare.returncode == 0, swept.compare.stderr[-3000:]
    table = pd.read_csv(swept.where / "reports" / "accuracy.csv")
    assert set(zip(table["reg"], table["act"], strict=True)) == CELLS and set(table["status"]) == {"FINISHED"}
    for job in swept.jobs:
        assert f"{job.data.metrics['test_accuracy']:.4f}" in swept.compare.stdout
    logged = {a.path for a in MlflowClient(as_alice.url).list_artifacts(swept.parents[0].info.run_id, "compare")}
    assert "compare/accuracy.csv" in logged


def test_a_logged_model_downloads_through_the_server_and_predicts(as_alice, swept, tmp_path):
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


@pytest.fixture(scope="module")
def refused(server, swept, fashion_small, tmp_path_factory):
    """bob (READ) compares and tries to train; nobody, and alice with a wrong password, try both: all at once."""
    where = tmp_path_factory.mktemp("refused")
    train = ["sweep.train", "-m", "reg=none,l1", "data=fashion_mnist", f"data.path={fashion_small}", "train.epochs=1"]
    logins = {
        "reader": login(server, "bob"),
        "nobody": {},
        "wrong": login(server, "alice", "not-" + server.passwords["alice"]),
    }
    commands = {(who, cmd[0]): (cmd, env) for who, env in logins.items() for cmd in (train, ["sweep.compare"])}
    before = stored(server)
    started = {
        key: subprocess.Popen(
            [sys.executable, "-m", *cmd],
            cwd=where,
            env=servers.clean_env(MLFLOW_TRACKING_URI=server.url, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for key, (cmd, env) in commands.items()
    }
    done = {}
    for key, proc in started.items():
        out, err = proc.communicate(timeout=300)
        CONSOLE.append(out + err)
        done[key] = SimpleNamespace(returncode=proc.returncode, stdout=out, stderr=err)
    return SimpleNamespace(done=done, created=stored(server) != before)


def test_a_reader_compares_but_may_not_train(refused):
    compare, train = refused.done[("reader", "sweep.compare")], refused.done[("reader", "sweep.train")]
    assert compare.returncode == 0, compare.stderr[-3000:]
    assert compare.stdout.startswith("note: read-only access to experiment 'sweep': the report is not logged")
    assert "reg=l2 act=sigmoid" in compare.stdout or "sigmoid" in compare.stdout
    assert train.returncode == 2 and train.stdout == ""
    assert re.fullmatch(
        r"error: MLFLOW_TRACKING_USERNAME: user 'bob' has READ permission on experiment 'sweep' .*\n", train.stderr
    )
    assert not refused.created  # refused before the parent run, and compare logged nothing either


def test_the_server_says_what_each_user_may_do_in_the_experiment(server, swept, monkeypatch):
    granted = {}
    for user, password in [*server.passwords.items(), (server.auth.admin, server.auth.password)]:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        granted[user] = access.permission(server.url, swept.experiment.experiment_id)
    assert granted == {"alice": "MANAGE", "bob": "READ", "admin": "ADMIN"}  # alice created it; READ is the default


@pytest.mark.parametrize("who, says", [("nobody", "requires a login"), ("wrong", "rejected the login of user 'alice'")])
@pytest.mark.parametrize("command", ["sweep.train", "sweep.compare"])
def test_missing_or_wrong_credentials_get_one_line_naming_them(refused, who, says, command):
    done = refused.done[(who, command)]
    assert done.returncode == 2, done.stderr[-3000:]
    assert re.fullmatch(f"error: {CREDENTIALS}: the tracking server http://[^ ]+ {says}.*\n", done.stderr), done.stderr
    assert not refused.created


def test_no_password_is_kept_in_the_store_the_artifacts_or_any_output(server, swept, refused, tmp_path):
    known = [*server.passwords.values(), server.auth.password, server.auth.secret_key, server.pg.password]
    dump = subprocess.run(
        [servers._pg_bin("pg_dumpall"), "-h", servers.LOOPBACK, "-p", str(server.pg.port), "-U", "postgres"],
        env=servers.clean_env(PGPASSWORD=server.pg.password),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "alice" in dump and swept.jobs[0].info.run_id in dump  # the dump holds the users and the runs
    files = [p for p in server.artifacts.rglob("*") if p.is_file()]
    assert {"config.yaml", "hydra.yaml", "overrides.yaml", "MLmodel"} <= {p.name for p in files}
    stored = [p.read_bytes() for p in files]
    for secret in known:
        assert secret not in dump
        assert not any(secret.encode() in blob for blob in stored)
        assert not any(secret in text for text in CONSOLE)
