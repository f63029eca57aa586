"""A sweep survives diverging jobs, signals and kill -9, and resumes where it stopped (parallel: test_display)."""

import signal
import socket
import subprocess
import sys
import time

import mlflow
import pytest

from sweep.tracking import liveness
from tests.helpers import all_runs, by_role, run_module, start_module, wait_for

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

# Enough real images that a job trains for a few seconds: time to interrupt it mid-fit. One job at a time
# (the basic launcher), so that which cells had finished when the signal came is known.
SLOW = ["data=fashion_mnist", "data.limit=3000", "train.epochs=15", "hydra/launcher=basic", "speed=study"]


def test_a_diverging_cell_fails_alone_with_its_reason(tmp_path, fashion_small):
    done = run_module(
        "sweep.train",
        "-m",
        "reg=none",
        "train.learning_rate=0.001,1e9",
        "data=fashion_mnist",
        f"data.path={fashion_small}",
        "train.epochs=2",
        cwd=tmp_path,
    )
    assert done.returncode != 0
    jobs = {r.data.params["train.learning_rate"]: r for r in by_role(all_runs(), "job")}
    assert jobs["0.001"].info.status == "FINISHED"
    failed = jobs["1000000000.0"]
    assert failed.info.status == "FAILED"
    assert failed.data.tags["failure_reason"].startswith("DivergedError: the training loss became nan in epoch 1")
    trace = mlflow.artifacts.load_text(f"{failed.info.artifact_uri}/failure/traceback.txt")
    assert "DivergedError" in trace and "Traceback" in trace
    assert "test_accuracy" not in failed.data.metrics
    (parent,) = by_role(all_runs(), "parent")
    assert parent.info.status == "FAILED"
    assert "[sweep] summary: 1 failed, 1 finished, 0 skipped" in done.stdout
    assert "FAILED reg=none act=relu train.learning_rate=1000000000.0: DivergedError" in done.stdout
    compared = run_module("sweep.compare", cwd=tmp_path)
    assert compared.returncode == 1
    assert "2 cells, 2 runs, 1 finished, 1 failed" in compared.stdout and "FAILED (DivergedError" in compared.stdout


def test_sigterm_marks_the_running_child_and_the_parent_killed(tmp_path):
    proc = start_module("sweep.train", "-m", "reg=none,l1,l2", *SLOW, cwd=tmp_path)
    wait_for(proc, "[sweep] cell 2 of 3", "] epoch 2/")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) != 0
    runs = all_runs()
    status = {r.info.run_name: r.info.status for r in runs}
    assert status["reg=none act=relu"] == "FINISHED" and status["reg=l1 act=relu"] == "KILLED"
    assert "reg=l2 act=relu" not in status
    assert by_role(runs, "parent")[0].info.status == "KILLED"
    assert not [r for r in runs if r.info.status == "RUNNING"]


def test_kill_9_then_the_same_command_finishes_the_rest_once(tmp_path):
    args = ["-m", "reg=none,l1,l2", *SLOW]
    proc = start_module("sweep.train", *args, cwd=tmp_path)
    wait_for(proc, "[sweep] cell 2 of 3", "] epoch 2/")
    proc.kill()
    proc.wait()
    assert [r.info.status for r in all_runs()].count("RUNNING") == 2  # the parent and cell 2, orphaned
    again = run_module("sweep.train", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "marked KILLED: reg=l1 act=relu" in again.stdout
    assert again.stdout.count("already finished") == 2, again.stdout  # said once when it starts, counted at the end
    assert "[sweep] 1 of 3 cells already finished: skipped" in again.stdout
    assert "[sweep] summary: 2 finished, 1 skipped (already finished)" in again.stdout
    assert "skipped: FINISHED before" not in again.stdout and "  skipped " not in again.stdout  # nor listed
    runs = all_runs()
    assert not [r for r in runs if r.info.status == "RUNNING"]
    finished = [r.info.run_name for r in by_role(runs, "job") if r.info.status == "FINISHED"]
    assert sorted(finished) == ["reg=l1 act=relu", "reg=l2 act=relu", "reg=none act=relu"]  # each exactly once
    dead = [r for r in runs if r.info.status == "KILLED"]
    assert {r.data.tags[liveness.TAG_END_REASON] for r in dead} == {"its process died (found by a later sweep command)"}
    compared = run_module("sweep.compare", cwd=tmp_path)
    assert compared.returncode == 0 and "3 cells, 3 runs, all finished" in compared.stdout
    forced = run_module("sweep.train", "reg=none", *SLOW, "retrain=true", cwd=tmp_path)  # the same config again
    assert forced.returncode == 0 and "skipped" not in forced.stdout
    assert len([r for r in by_role(all_runs(), "job") if r.info.run_name == "reg=none act=relu"]) == 2


def test_a_dead_process_is_told_from_a_live_one():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    tags = {
        liveness.TAG_HOST: socket.gethostname(),
        liveness.TAG_PID: str(child.pid),
        liveness.TAG_PID_START: liveness._pid_start(child.pid),
    }
    assert not liveness.is_dead(tags, start_time_ms=0)
    assert liveness.is_dead({**tags, liveness.TAG_PID_START: "1"}, start_time_ms=0)  # the pid now names another
    child.kill()
    child.wait()
    assert liveness.is_dead(tags, start_time_ms=0)
    assert not liveness.is_dead(liveness.owner_tags(), start_time_ms=0)
    elsewhere = {liveness.TAG_HOST: "another-host", liveness.TAG_PID: "1"}
    assert not liveness.is_dead(elsewhere, start_time_ms=int(time.time() * 1000))
    assert liveness.is_dead(elsewhere, start_time_ms=int((time.time() - 25 * 3600) * 1000))
