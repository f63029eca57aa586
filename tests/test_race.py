"""One real race, killed with kill -9 in its second round and finished by the same command: rounds, tags, compare."""

import io
import os
import signal
import subprocess
import sys
import time

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from sweep.tracking import store
from tests.helpers import all_runs, by_role, run_module, wait_for

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

# 3 x 2 cells on 1,200 real images, one epoch: the learning rate 1e-5 barely trains (about chance), so its three
# cells are clearly worse; input-level l2 trains exactly like none (identical weights, seed by seed): a twin.
GRID = ["reg=none,dropout,l2", "train.learning_rate=0.001,0.00001", "data=fashion_mnist", "train.epochs=1"]
RACE = ["hydra/sweeper=race", "hydra.sweeper.min_seeds=2", "hydra.sweeper.max_seeds=3"]
SLOW_LR = "train.learning_rate=1e-05"


@pytest.fixture(scope="module")
def raced(tmp_path_factory, fashion_small):
    """The race started, killed (kill -9, its workers too) once round 1 trains, then run again to the end."""
    where = tmp_path_factory.mktemp("race")
    uri = f"sqlite:///{where / 'mlflow.db'}"
    args = ["-m", *RACE, *GRID, f"data.path={fashion_small}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEEP_")}
    env.update(MLFLOW_TRACKING_URI=uri, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sweep.train", *args],
        cwd=where,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the kill takes the joblib workers with it
    )
    first = wait_for(proc, "[race] round 0:", "[sweep] cell 11:")  # round 0: 6 jobs at seed 0, 4 at seed 1
    wait_until_running(uri, "1")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    left_running = [r for r in all_runs(uri=uri) if r.info.status == "RUNNING"]
    again = run_module("sweep.train", *args, cwd=where, uri=uri)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    return where, uri, "".join(first), left_running, again


def wait_until_running(uri: str, race_round: str, timeout: float = 300) -> None:
    """Wait until a job run of the round is RUNNING in the store (it trains now)."""
    deadline = time.time() + timeout
    while not [
        r for r in all_runs(uri=uri) if r.info.status == "RUNNING" and r.data.tags.get("race.round") == race_round
    ]:
        assert time.time() < deadline, f"no job of round {race_round} started"
        time.sleep(0.2)


def parent_of(uri: str):
    """The finishing invocation's parent run (the latest one)."""
    return by_role(all_runs(uri=uri), "parent")[-1]


def artifact(parent, path: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(mlflow.artifacts.load_text(f"{parent.info.artifact_uri}/{path}")))


def test_a_killed_race_continues_where_it_stopped(raced):
    where, uri, first, left_running, again = raced
    assert "[race] round 0: 10 jobs (0 reused from the store)" in first
    assert ": up to 12 jobs first, parent run" in first  # 6 cells x min_seeds 2 at most; twins skip their seed 1
    assert {r.data.tags[store.TAG_ROLE] for r in left_running} == {"parent", "job"}
    assert "marked KILLED" in again.stdout
    assert "[race] round 0: 10 jobs (10 reused from the store)" in again.stdout  # nothing of round 0 runs again
    runs = all_runs(uri=uri)
    assert not [r for r in runs if r.info.status == "RUNNING"]
    finished = [r for r in by_role(runs, "job") if r.info.status == "FINISHED"]
    hashes = [r.data.tags[store.TAG_HASH] for r in finished]
    assert len(hashes) == len(set(hashes))  # every configuration and seed trained once
    killed = [r for r in by_role(runs, "job") if r.info.status == "KILLED"]
    assert killed and all(r.data.tags["race.round"] == "1" for r in killed)
    assert [p.info.status for p in by_role(runs, "parent")] == ["KILLED", "FINISHED"]


def test_the_rounds_file_tags_and_child_runs_agree(raced):
    where, uri, _, _, again = raced
    parent = parent_of(uri)
    rounds, jobs = artifact(parent, "race/rounds.csv"), artifact(parent, "race/jobs.csv")
    folder = max(where.glob("multirun/*/*/race"))  # the rerun's sweep folder holds the same rounds, and the verdict
    assert pd.read_csv(folder / "rounds.csv").equals(rounds) and len(pd.read_csv(folder / "jobs.csv")) == len(jobs)
    assert (folder / "verdict.md").read_text().startswith("# Race verdict")
    client = MlflowClient(uri)
    for job in jobs.itertuples():  # each job the race used is a FINISHED run holding the value the race read
        run = client.get_run(job.run_id)
        assert run.info.status == "FINISHED" and run.data.tags[store.TAG_HASH] == job.config_hash
        assert run.data.metrics["val_accuracy"] == pytest.approx(job.value)
        assert run.data.params["train.seed"] == str(job.seed) and run.data.tags["race.round"] == str(job.round)
        assert run.info.run_name == f"{job.cell} train.seed={job.seed}"
    for row in rounds.itertuples():  # each round's n and mean are those of the cell's first n seeds
        values = jobs[(jobs["cell"] == row.cell) & (jobs["round"] <= row.round)].sort_values("seed")["value"]
        assert row.n == len(values) and row.mean == pytest.approx(values.mean())
    last = rounds[rounds["round"] == rounds["round"].max()]
    alive = last[last["state"].isin(["best", "alive"])].sort_values("mean", ascending=False, kind="stable")
    twins = rounds[rounds["state"] == "twin"]
    named = [c for cell in alive["cell"] for c in [cell, *twins.loc[twins["same_as"] == cell, "cell"]]]
    assert parent.data.tags["race.best"] == " | ".join(named)
    for job in jobs.itertuples():  # the weights hash the race read is the run's own
        assert client.get_run(job.run_id).data.tags[store.TAG_WEIGHTS] == job.weights_hash
    assert parent.data.tags["race.jobs"] == str(len(jobs)) and f"{len(jobs)} used" in again.stdout
    assert parent.data.tags["race.stop"] in again.stdout
    # the sweep's own outcome counts every job the race reused (round 0's and round 1's finished before the kill)
    assert f"{int(jobs['reused'].sum())} skipped (already finished)" in again.stdout
    assert parent.data.tags["best_cell"] == parent.data.tags["race.best"].split(" | ")[0]  # not a 1-seed twin


def test_the_cells_that_barely_train_are_eliminated_early_and_never_the_best(raced):
    _, uri, _, _, again = raced
    parent = parent_of(uri)
    rounds = artifact(parent, "race/rounds.csv")
    out = rounds[rounds["state"] == "eliminated"]
    assert set(out["cell"]) == {f"reg={r} act=relu {SLOW_LR}" for r in ("none", "dropout")}  # l2's: a twin of none's
    assert (out["p_holm"] < 0.05 / 2).all() and (out["round"] == 0).any()  # two looks: 0.025 each
    assert rounds["round"].max() == 1 and set(rounds.loc[rounds["round"] == 1, "n"]) == {3}
    assert set(out.loc[out["round"] == 0, "n"]) == {2}  # out early with fewer seeds: unequal n
    best = parent.data.tags["race.best"].split(" | ")
    assert SLOW_LR not in " ".join(best) and {"reg=none", "reg=l2"} <= {c.split()[0] for c in best}
    assert "twin: reg=l2 act=relu train.learning_rate=0.001 races as reg=none act=relu" in again.stdout


def test_l2_trains_bit_identical_weights_to_none_and_races_as_its_twin(raced):
    _, uri, _, _, _ = raced
    parent = parent_of(uri)
    rounds, jobs = artifact(parent, "race/rounds.csv"), artifact(parent, "race/jobs.csv")
    twins = rounds[rounds["state"] == "twin"]
    for lr in ("train.learning_rate=0.001", SLOW_LR):
        l2, none = f"reg=l2 act=relu {lr}", f"reg=none act=relu {lr}"
        assert twins.loc[twins["cell"] == l2, ["round", "same_as", "n"]].values.tolist() == [[0, none, 1]]
        hashes = {c: jobs[jobs["cell"] == c].sort_values("seed")["weights_hash"].tolist() for c in (l2, none)}
        assert hashes[l2] == hashes[none][:1] and len(set(hashes[none])) == len(hashes[none])  # seed by seed
    assert set(twins["cell"]) == {f"reg=l2 act=relu {lr}" for lr in ("train.learning_rate=0.001", SLOW_LR)}
    assert len(jobs[jobs["cell"].str.startswith("reg=l2")]) == 2  # seed 0 only: found there, seed 1 not paid for
    dropout = jobs[jobs["cell"].str.startswith("reg=dropout")]["weights_hash"]
    assert not set(dropout) & set(jobs[jobs["cell"].str.startswith("reg=none")]["weights_hash"])


def test_compare_shows_the_race_beside_its_tables(raced):
    where, uri, _, _, _ = raced
    done = run_module("sweep.compare", "--report", cwd=where, uri=uri)
    assert done.returncode == 0, done.stderr[-3000:]
    parent, rounds = parent_of(uri), artifact(parent_of(uri), "race/rounds.csv")
    jobs = artifact(parent, "race/jobs.csv")
    assert f"6 cells, {len(jobs)} runs, all finished" in done.stdout  # the reused runs of round 0 count too
    assert f"## Race on val_accuracy: {parent.data.tags['race.stop']}" in done.stdout
    assert f"Jobs: {len(jobs)} used" in done.stdout and "of the exhaustive 18 (6 cells x 3 seeds)" in done.stdout
    view = (where / "reports" / "race.md").read_text()
    for row in rounds[rounds["state"] == "eliminated"].itertuples():  # each eliminated cell: its n, round, p
        line = next(line for line in view.splitlines() if line.startswith(f"| {row.cell} "))
        cols = [c.strip() for c in line.strip("|").split("|")]
        assert cols[1] == str(row.n) and cols[3] == "eliminated" and cols[4] == str(row.round)
        assert cols[5] == f"{row.p_holm:.3g}"
    report = (where / "reports" / "report.md").read_text()
    assert report.index("## Race on val_accuracy") < report.index("## Cells ranked by mean test accuracy")
    logged = {a.path for a in MlflowClient(uri).list_artifacts(parent.info.run_id, "compare")}
    assert {"compare/race.md", "compare/report.html"} <= logged


def test_the_race_view_shows_each_cells_seeds_and_fate(raced):
    from sweep.analysis import race_view

    _, uri, _, _, _ = raced
    parent = parent_of(uri)
    mlflow.set_tracking_uri(uri)
    rounds = artifact(parent, "race/rounds.csv")
    fates = race_view.fates(rounds).set_index("cell")
    for cell, rows in rounds.groupby("cell"):
        last = rows.loc[rows["round"].idxmax()]
        assert fates.loc[cell, "n"] == last["n"]
        out = fates.loc[cell, "left_in"]
        assert out == last["round"] if last["state"] == "eliminated" else np.isnan(out)
    assert list(fates["state"][:1]) == ["best"] and set(fates["state"]) == {
        "best",
        "in the best set",
        "eliminated",
        *{f"same as reg=none act=relu {lr}" for lr in ("train.learning_rate=0.001", SLOW_LR)},
    }
    for twin in fates.index[fates["state"].str.startswith("same as ")]:  # right after the cell it raced as
        assert list(fates.index).index(twin) == list(fates.index).index(fates.loc[twin, "state"][8:]) + 1
