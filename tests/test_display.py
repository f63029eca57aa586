"""A sweep in a real terminal: one live display in the launching process, no job writing through it; parallel jobs."""

import os
import re

import pytest
from mlflow import MlflowClient

from sweep.tracking import liveness
from tests.helpers import all_runs, by_role
from tests.terminal import run_in_terminal, screen

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

QUIET_JOB = (b"Epoch ", b"/step", b"[sweep] cell ", b"] epoch ", b"I0000 ", b"WARNING: All log messages")


def _swept_in_terminal(where, fashion_small, *overrides: str):
    args = ["-m", "sweep.train", "-m", *overrides, "data=fashion_mnist", f"data.path={fashion_small}"]
    code, shown = run_in_terminal(args, cwd=where, env=dict(os.environ))
    lines = screen(shown)
    assert code == 0, "\n".join(lines[-40:])
    return shown, lines


def _assert_one_display(shown: bytes, lines: list, jobs: list) -> None:
    for noise in QUIET_JOB:  # what the jobs would print: never sent to the terminal, not even overwritten later
        assert noise not in shown, (noise, "\n".join(lines[-40:]))
    assert b"\x1b[1A" in shown  # the display redrew itself in place
    heads = [line for line in lines if "cells done" in line]  # one display left on the screen, not one per job
    assert len(heads) == 1, (shown[-6000:], "\n".join(lines))  # what drew a second one, should it ever happen
    (head,) = heads
    assert re.search(rf"^━+ {len(jobs)}/{len(jobs)} cells done · 0 failed · 0 running · \S+ elapsed · ETA 0:00$", head)
    for job in jobs:  # one line per finished cell, with its accuracies as the store has them
        metrics = job.data.metrics
        line = f"✓ {job.info.run_name}  val_accuracy {metrics['val_accuracy']:.4f}  "
        line += f"test_accuracy {metrics['test_accuracy']:.4f}"
        assert [text for text in lines if text.startswith(line)], (line, "\n".join(lines[-40:]))
    assert f"[sweep] summary: {len(jobs)} finished, 0 skipped (already finished)" in lines


def test_a_two_worker_sweep_on_a_new_store_shows_one_display(tmp_path, fashion_small, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'brand_new.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    overrides = ["reg=none,dropout", "act=relu,tanh", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    overrides += ["mlflow.experiment=parallel", "train.epochs=2"]
    shown, lines = _swept_in_terminal(tmp_path, fashion_small, *overrides)
    # Parallel jobs on a store that did not exist: no migration race, nothing in the Default experiment
    assert b"database is locked" not in shown and b"alembic" not in shown.lower()
    client = MlflowClient(uri)
    assert {e.name for e in client.search_experiments()} == {"parallel", "Default"}
    assert client.search_runs([client.get_experiment_by_name("Default").experiment_id]) == []
    runs = all_runs("parallel", uri)
    (parent,) = by_role(runs, "parent")
    jobs = by_role(runs, "job")
    assert len(jobs) == 4 and parent.info.status == "FINISHED"
    assert {j.data.tags["mlflow.parentRunId"] for j in jobs} == {parent.info.run_id}
    assert {j.info.status for j in jobs} == {"FINISHED"}
    assert len({j.data.tags[liveness.TAG_PID] for j in jobs}) == 2  # two worker processes shared the terminal
    threads = str(max(1, (os.cpu_count() or 1) // 2))  # two workers share the cores
    assert {j.data.tags["sweep.intra_op_threads"] for j in jobs} == {threads}
    for job in jobs:
        history = client.get_metric_history(job.info.run_id, "val_accuracy")
        assert sorted(m.step for m in history) == [1, 2]  # no lost metric point
    _assert_one_display(shown, lines, jobs)
    # While it ran, the display listed the running cells with their epoch
    assert re.search(rb"2 running .*?\r\n  reg=\S+ act=\S+ +epoch [012]/2", shown)
    assert len(list(tmp_path.glob("multirun/*/*/*/console.log"))) == 4  # where the workers' output went


def test_jobs_in_the_launching_process_write_through_the_display(tmp_path, fashion_small):
    shown, lines = _swept_in_terminal(tmp_path, fashion_small, "reg=none,l2", "hydra/launcher=basic", "train.epochs=1")
    jobs = by_role(all_runs(), "job")
    assert len(jobs) == 2 and {j.info.status for j in jobs} == {"FINISHED"}
    _assert_one_display(shown, lines, jobs)
    (parent,) = by_role(all_runs(), "parent")
    assert MlflowClient().get_run(parent.info.run_id).data.tags["best_cell"] in {j.info.run_name for j in jobs}
