"""Setup is all or nothing (issue 26): a store, storage or data that cannot hold the sweep is one line, exit 2, and
leaves every file as it was; a new store beside a reader ends in a whole sweep or one line, never an orphan run."""

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow import MlflowClient

from sweep.launch import preflight
from sweep.tracking import store, store_check
from tests.helpers import all_runs, by_role, run_module

FAST = ["data=fashion_mnist", "train.epochs=1", "data.limit=200"]
READER = """
import sys, time
from mlflow import MlflowClient
until = time.time() + float(sys.argv[1])
while time.time() < until:  # as an open `mlflow ui` does: its own relative URI, so MLflow's own lock is not shared
    try:
        MlflowClient("sqlite:///mlruns/mlflow.db").search_experiments(max_results=1)
    except Exception:
        pass
"""


def digest(folder: Path) -> dict:
    """Every file under a folder and its bytes' hash: what a refused command must leave as it was."""
    # outputs/ is a single run's Hydra folder; a -shm file is SQLite's shared index of a WAL, which readers rewrite
    files = [p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] != "outputs"]
    files = [p for p in files if not p.name.endswith("-shm")]
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def refused(done, starts: str) -> str:
    """Assert exit 2 with one `error:` line that starts as given and no traceback; return the line."""
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(starts), done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


def an_old_store(path: Path) -> None:
    """An MLflow store an older MLflow left: one revision behind this one's, last written long ago."""
    store.prepare_experiment(f"sqlite:///{path}", "sweep")
    with sqlite3.connect(path) as con:
        con.execute("update alembic_version set version_num = 'c8d9e0f1a2b3'")
    os.utime(path, (time.time() - 3600, time.time() - 3600))


def not_mlflow(path: Path) -> None:
    with sqlite3.connect(path) as con:
        con.execute("create table patients (id integer)")


STORES = [  # URI, what stands there first, the line's start, what it says is wrong
    ("foo://bar", None, "error: MLFLOW_TRACKING_URI=foo://bar: unknown scheme 'foo'; allowed: sqlite:///", ""),
    ("sqlite:///{tmp}/a_file/sub/mlflow.db", None, "error: MLFLOW_TRACKING_URI=", "a_file is a file, not a directory"),
    ("sqlite:///{tmp}/notes.db", lambda p: p.write_text("notes\n"), "error: MLFLOW_TRACKING_URI=", "not a SQLite"),
    ("sqlite:///{tmp}/clinic.db", not_mlflow, "error: MLFLOW_TRACKING_URI=", "not an MLflow store (tables patients)"),
    ("sqlite:///{tmp}/old.db", an_old_store, "error: MLFLOW_TRACKING_URI=", "back it up, then run: mlflow db upgrade"),
]


@pytest.mark.parametrize(
    "mode, cases",
    [pytest.param([], STORES[:3:2], id="single"), pytest.param(["-m"], STORES, id="multirun", marks=pytest.mark.slow)],
)
def test_a_store_that_cannot_hold_the_sweep_is_one_line_and_stays_as_it_was(tmp_path, mode, cases):
    (tmp_path / "a_file").write_text("a file where a folder should be\n")
    for uri, make, starts, why in cases:
        uri = uri.format(tmp=tmp_path)
        if make:
            make(store.sqlite_path(uri))
        before = digest(tmp_path)
        line = refused(run_module("sweep.train", *mode, *FAST, cwd=tmp_path, uri=uri), starts)
        assert why in line and uri in line
        assert digest(tmp_path) == before  # no store file made, none touched (a single run's outputs/ is Hydra's)
        assert not (tmp_path / "mlruns").exists() and not (tmp_path / "multirun").exists()
        if not mode:  # compare reads the same store: the same line, nothing touched
            assert refused(run_module("sweep.compare", cwd=tmp_path, uri=uri), starts) == line
            assert digest(tmp_path) == before


def test_an_unwritable_search_storage_is_one_line_before_any_run_or_study(tmp_path):
    (tmp_path / "a_file").write_text("x\n")
    space = ["hydra/sweeper=search", "train.learning_rate=interval(0.001,0.01)", "hydra.sweeper.n_trials=2"]
    storage = f"hydra.sweeper.storage={tmp_path}/a_file/study.journal"
    done = run_module("sweep.train", "-m", *space, storage, *FAST, cwd=tmp_path)
    refused(done, f"error: hydra.sweeper.storage={tmp_path}/a_file/study.journal: {tmp_path}/a_file is a file")
    assert not (tmp_path / "mlflow.db").exists() and not list(tmp_path.rglob("*.journal"))


@pytest.mark.parametrize("array", ["x_train", "y_test"])
def test_non_finite_data_is_a_data_error_naming_the_file_and_the_array(tmp_path, fashion_raw, array):
    arrays = {
        "x_train": fashion_raw.x_train[:300].astype("float32") / 255,
        "y_train": fashion_raw.y_train[:300],
        "x_test": fashion_raw.x_test[:100].astype("float32") / 255,
        "y_test": fashion_raw.y_test[:100].astype("float64"),
    }
    arrays[array].flat[[3, 70, 99]] = [np.nan, np.inf, -np.inf]
    np.savez(tmp_path / "scans.npz", **arrays)
    done = run_module("sweep.train", "-m", "data=local", f"data.path={tmp_path / 'scans.npz'}", cwd=tmp_path)
    line = refused(done, f"error: data.path={tmp_path / 'scans.npz'}: {array} holds 3 non-finite values (NaN or inf)")
    assert "fix or drop" in line and not (tmp_path / "mlflow.db").exists()


def test_a_deleted_experiment_is_named_before_any_run(tmp_path):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    MlflowClient(uri).delete_experiment(store.prepare_experiment(uri, "gone"))
    done = run_module("sweep.train", "-m", *FAST, "mlflow.experiment=gone", cwd=tmp_path)
    refused(done, "error: mlflow.experiment=gone: the experiment is deleted (id 1); restore it")
    assert MlflowClient(uri).search_runs(["0", "1"]) == []


@pytest.mark.slow
def test_a_multirun_job_without_its_parent_creates_no_run(tmp_path):
    # Without the sweep's callback nothing set the sweep up: every job must refuse rather than log an orphan run
    no_callback = ["~hydra.callbacks.mlflow_sweep", "act=relu,tanh,sigmoid"]
    done = run_module("sweep.train", "-m", *FAST, *no_callback, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.count("error: SWEEP_PARENT_RUN_ID: this multirun job has no parent run") == 1  # told once
    assert all_runs() == []


def test_any_failure_of_the_setup_is_fatal_and_undone(capsys):
    undone = []
    with pytest.raises(SystemExit) as exited, preflight.fatal(lambda: undone.append(True)):
        raise KeyError("experiment_id")  # what no check foresaw: Hydra would have warned and launched the jobs
    assert exited.value.code == 2 and undone == [True]
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["error: the sweep's setup failed: KeyError: 'experiment_id'"]


def start_reader(where: Path, seconds: float) -> subprocess.Popen:
    """A process that creates and then polls the store where/mlruns/mlflow.db, as an open `mlflow ui` would."""
    return subprocess.Popen([sys.executable, "-c", READER, str(seconds)], cwd=where)


@pytest.mark.slow
def test_a_new_store_beside_a_reader_is_made_whole(tmp_path):
    # The reader migrates the same new file through another URI (MLflow's own lock is keyed by the URI's text), and
    # this process comes while the migration runs: without creation.reach's retries 5 of 5 such tries failed.
    random, made = np.random.default_rng(0), 0
    for attempt in range(3):
        where = tmp_path / f"try{attempt}"
        where.mkdir()
        reader = start_reader(where, 30)
        while not (where / "mlruns" / "mlflow.db").exists():
            time.sleep(0.005)
        time.sleep(random.uniform(0, 1))  # the reader's migration takes 2-4 s here
        try:
            experiment = store.prepare_experiment(f"sqlite:///{where / 'mlruns' / 'mlflow.db'}", "sweep")
        except store_check.StoreError as exc:  # the other admissible end: one line, and no experiment of ours
            reader.kill()
            assert str(exc).startswith("MLFLOW_TRACKING_URI") and "\n" not in str(exc)
            continue
        reader.kill()
        with sqlite3.connect(where / "mlruns" / "mlflow.db") as con:
            revision = con.execute("select version_num from alembic_version").fetchall()
        assert revision == [(store_check.latest_revision(),)] and experiment == "1"
        made += 1
    assert made >= 2, f"{made} of 3 new stores beside a reader were made whole"  # 10 of 10 in docs/errors.md's run


@pytest.mark.slow
def test_two_sweeps_on_one_new_store_beside_a_reader_link_every_job_to_their_parent(tmp_path, fashion_small):
    # The launch dir's default store (no MLFLOW_TRACKING_URI), which a reader and two sweeps all start on at once
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    args = ["-m", "data=fashion_mnist", f"data.path={fashion_small}", "train.epochs=1", "act=relu,tanh"]
    reader = start_reader(tmp_path, 60)  # the sweeps reach the store 2-3 s after launch, as the reader does
    both = [
        subprocess.Popen([sys.executable, "-m", "sweep.train", *args, *launcher], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for launcher in ([], ["hydra/launcher=basic"])
    ]  # fmt: skip
    ended = [(proc.returncode, err) for proc in both for _, err in [proc.communicate(timeout=600)]]
    reader.kill()
    runs = all_runs(uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    for code, err in ended:
        assert code in (0, 2), err[-3000:]
        if code == 2:  # the other admissible end: one line, nothing of that sweep in the store
            assert len(err.strip().splitlines()) == 1 and err.startswith("error: MLFLOW_TRACKING_URI="), err
    parents = by_role(runs, "parent")
    assert len(parents) == sum(code == 0 for code, _ in ended) and {r.info.status for r in runs} <= {"FINISHED"}
    sweep_of = {p.info.run_id: p.data.tags[store.TAG_SWEEP] for p in parents}
    jobs = by_role(runs, "job")
    assert len(jobs) == 2 * len(parents)  # no orphan: every job under the parent of its own sweep
    assert all(sweep_of[j.data.tags["mlflow.parentRunId"]] == j.data.tags[store.TAG_SWEEP] for j in jobs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=300), st.binary(max_size=200).map(lambda b: store_check.SQLITE_HEADER + b)))
def test_any_file_that_is_no_store_is_refused_in_one_line_and_left_as_it_was(tmp_path, content):
    db = tmp_path / "drawn.db"
    db.write_bytes(content)
    try:
        store_check.check(f"sqlite:///{db}")
    except store_check.StoreError as exc:
        assert str(exc).startswith(f"MLFLOW_TRACKING_URI=sqlite:///{db}: ") and "\n" not in str(exc)
    else:
        assert content == b""  # only an empty file passes: SQLite takes it as a new database
    assert db.read_bytes() == content
