"""One real multirun subprocess over 2 x 2 cells, then `sweep.compare`: parent/child runs and the table."""

import os
import re

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from sweep import compare
from sweep.tracking import store
from tests.helpers import run_module, sweep_in

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

CELLS = {("none", "relu"), ("none", "sigmoid"), ("l2", "relu"), ("l2", "sigmoid")}


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory, fashion_small):
    """One real 2 x 2 multirun shared by this module's tests (its own launch dir and store)."""
    where = tmp_path_factory.mktemp("sweep")
    uri, done = sweep_in(
        where,
        "reg=none,l2",
        "act=relu,sigmoid",
        "data=fashion_mnist",
        f"data.path={fashion_small}",
        "train.epochs=2",
    )
    return where, uri, done


@pytest.fixture
def swept(sweep_dir, monkeypatch):
    where, uri, done = sweep_dir
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return done


def test_multirun_makes_one_parent_with_a_child_per_cell(swept):
    client = MlflowClient()
    experiment = client.get_experiment_by_name("sweep")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get(store.TAG_ROLE) == "parent"]
    children = [r for r in runs if r.data.tags.get(store.TAG_ROLE) == "job"]
    assert len(parents) == 1 and len(children) == 4
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    sweep_id = parent.data.tags[store.TAG_SWEEP]
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags[store.TAG_SWEEP] == sweep_id
        assert child.info.run_name == f"reg={child.data.params['reg']} act={child.data.params['act']}"
        assert child.data.tags["cell"] == child.info.run_name and len(child.data.tags["cell_hash"]) == 16
        assert child.data.params["data"] == "fashion_mnist" and child.data.params["data.image_shape"] == "[28,28]"
        assert child.data.tags["sweep.fused_cells"] == "2"  # the default launcher trains a reg's 2 acts together
    assert len({c.data.tags["cell_hash"] for c in children}) == 4
    assert len({c.data.tags["sweep.fused_group"] for c in children}) == 2
    assert parent.data.tags["sweep.factors"] == "reg,act"
    design = mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/sweep/design.json")
    assert design == {"swept": ["reg", "act"], "factors": ["reg", "act"], "baseline": {"reg": "none", "act": "relu"}}
    assert {(c.data.params["reg"], c.data.params["act"]) for c in children} == CELLS
    for k in range(1, 5):
        assert f"[sweep] cell {k} of 4" in swept.stdout
    # Without a terminal: no Keras bars, one line per epoch and cell, each prefixed with the cell's name
    assert "Epoch " not in swept.stdout and "/step" not in swept.stdout
    for child in children:
        epochs = [line for line in swept.stdout.splitlines() if line.startswith(f"[{child.info.run_name}] epoch ")]
        assert [line.split()[3] for line in epochs] == ["1/2", "2/2"], swept.stdout[-3000:]
        assert f"val_accuracy {child.data.metrics['val_accuracy']:.4f}" in epochs[-1]
        assert f"[sweep] {child.info.run_name}: train_accuracy=" in swept.stdout
    # no C++ log lines of TensorFlow (e.g. its CUDA probe on a machine without a GPU) and no Python warnings
    assert not re.findall(r"^[IWEF]\d{4} .*$", swept.stderr, re.MULTILINE)
    assert "Warning:" not in swept.stderr, swept.stderr[-2000:]


def test_the_parent_run_tells_how_the_sweep_came_out(swept):
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("sweep").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get(store.TAG_ROLE) == "parent"]
    children = [r for r in runs if r.data.tags.get(store.TAG_ROLE) == "job"]
    metrics = parent.data.metrics
    assert {k: metrics[k] for k in ("cells_planned", "cells_finished", "cells_failed", "cells_skipped")} == {
        "cells_planned": 4,
        "cells_finished": 4,
        "cells_failed": 0,
        "cells_skipped": 0,
    }
    best = max(children, key=lambda r: r.data.metrics["val_accuracy"])  # by validation, never by test accuracy
    assert parent.data.tags["best_cell"] == best.data.tags[store.TAG_CELL] == best.info.run_name
    assert metrics["best_cell_val_accuracy"] == pytest.approx(best.data.metrics["val_accuracy"])
    assert metrics["best_cell_test_accuracy"] == pytest.approx(best.data.metrics["test_accuracy"])
    summary = mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/sweep/summary.json")
    assert {j["cell"] for j in summary["jobs"]} == {c.info.run_name for c in children}
    assert summary["best_cell"] == best.info.run_name and summary["skipped"] == []
    assert f"[sweep] best by validation accuracy: {best.info.run_name} " in swept.stdout
    assert parent.data.tags["mlflow.note.content"].startswith("summary: 4 finished, 0 skipped")  # its Description


def test_compare_prints_and_logs_the_table(swept, tmp_path):
    done = run_module("sweep.compare", cwd=tmp_path)  # another launch dir: the store comes from the environment
    assert done.returncode == 0, done.stderr
    assert "4 cells, 4 runs, all finished" in done.stdout and "Downloading artifacts" not in done.stderr
    client = MlflowClient()
    children = [
        r
        for r in client.search_runs([client.get_experiment_by_name("sweep").experiment_id])
        if r.data.tags.get(store.TAG_ROLE) == "job"
    ]
    table = pd.read_csv(tmp_path / "reports" / "accuracy.csv")
    assert len(table) == 4 and set(table["status"]) == {"FINISHED"}
    for child in children:
        row = table[(table["reg"] == child.data.params["reg"]) & (table["act"] == child.data.params["act"])]
        assert row["test_accuracy"].item() == pytest.approx(child.data.metrics["test_accuracy"])
        assert f"{child.data.metrics['test_accuracy']:.4f}" in done.stdout
    md = (tmp_path / "reports" / "accuracy.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| reg"))
    assert header.split("|")[2].strip() == "relu" and header.split("|")[3].strip() == "sigmoid"
    rows = [
        line.split("|")[1].strip() for line in md.splitlines() if line.startswith("| none") or line.startswith("| l2")
    ]
    assert rows[:2] == ["none", "l2"]  # the study's row order
    parent = next(
        r for r in client.search_runs([children[0].info.experiment_id]) if r.data.tags.get(store.TAG_ROLE) == "parent"
    )
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "compare")}
    assert logged == {"compare/accuracy.md", "compare/accuracy.csv", "compare/test_accuracy.png"}


def test_a_relative_sqlite_uri_is_read_from_the_launch_dir(sweep_dir):
    where, _, _ = sweep_dir
    done = run_module("sweep.compare", "--out", "relative_reports", cwd=where, uri="sqlite:///mlflow.db")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "4 cells, 4 runs, all finished" in done.stdout and (where / "relative_reports" / "accuracy.csv").is_file()


def test_compare_marks_missing_cells_and_exits_nonzero(swept, tmp_path):
    client = MlflowClient()
    victim = next(
        r
        for r in client.search_runs([client.get_experiment_by_name("sweep").experiment_id])
        if r.data.tags.get(store.TAG_ROLE) == "job"
        and r.data.params["reg"] == "l2"
        and r.data.params["act"] == "sigmoid"
    )
    client.delete_run(victim.info.run_id)
    done = run_module("sweep.compare", cwd=tmp_path)
    assert done.returncode == 1
    assert "4 cells, 4 runs, 3 finished, 1 missing" in done.stdout and "- reg=l2 act=sigmoid: MISSING" in done.stdout


def test_compare_on_an_empty_store_says_so(tmp_path):
    done = run_module("sweep.compare", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"error: no MLflow store at {os.environ['MLFLOW_TRACKING_URI']}; "
        "run python -m sweep.train first or set MLFLOW_TRACKING_URI"
    )
    assert not (tmp_path / "mlflow.db").exists()  # compare never creates a store


def test_compare_names_an_unknown_sweep(swept, tmp_path):
    done = run_module("sweep.compare", "--sweep", "nope", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.strip().splitlines()[-1] == "error: --sweep: no sweep 'nope' in experiment 'sweep' "
        f"({os.environ['MLFLOW_TRACKING_URI']})"
    )


def test_help_lists_groups_and_options(tmp_path):
    done = run_module("sweep.train", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    for line in (
        "act: leaky_relu, relu, sigmoid, tanh",
        "data: fashion_mnist, local, mnist",
        "speed: fast, study",
        "reg: batchnorm, batchnorm_l1, batchnorm_l2, dropout, dropout_batchnorm, l1, l2, none",
    ):
        assert line in done.stdout
    assert "validation_split: 0.1" in done.stdout and "MLFLOW_TRACKING_URI" in done.stdout


def test_compare_help_reads_as_plain_text(capsys):
    with pytest.raises(SystemExit) as done:
        compare.parse_args(["--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: python -m sweep.compare") and "`" not in shown
    assert "Read a sweep's runs back from MLflow" in shown and "exit codes: 0 every cell finished" in shown
