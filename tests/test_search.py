"""hydra/sweeper=search for real: an 8-trial pruned search, its resume to 10, kill -9, and the study beside MLflow."""

import os
import re
from types import SimpleNamespace

import mlflow
import optuna
import pandas as pd
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from sweep.analysis import query
from sweep.tracking import liveness, store, study
from tests.helpers import all_runs, by_role, run_module, start_module, wait_for

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

# Random draws (seeded) make the trials known; the log interval reaches learning rates that learn nothing in one
# epoch, which the median pruner (after 2 complete trials) stops once a few good trials have completed.
SPACE = ["train.learning_rate=tag(log,interval(1e-6,1e-2))", "act=choice(relu,tanh)"]
OPTIONS = ["hydra.sweeper.sampler=random", "hydra.sweeper.seed=4", "hydra.sweeper.pruner=median"]
PRUNING = ["+hydra.sweeper.pruner_options.n_startup_trials=2"]
FAST = ["speed.jit_compile=false"]  # on 1,200 images XLA's compile of every new model costs more than it saves
LR = "train.learning_rate=tag(log,interval(1e-3,1e-2))"
BAD = [
    (
        ["hydra.sweeper.sampler=anneal", LR],
        "error: hydra.sweeper.sampler: unknown sampler 'anneal'; allowed: tpe, random",
    ),
    (["hydra.sweeper.pruner=early", LR], "error: hydra.sweeper.pruner: unknown pruner 'early'; allowed: none, median"),
    (["train.lr=interval(0.001,0.01)"], "error: train.lr: unknown key; known keys here: epochs, batch_size"),
    (["train.learning_rate=interval(0.01,0.001)"], "error: train.learning_rate: interval(0.01, 0.001) is empty"),
    (["train.learning_rate=tag(log,interval(0,0.1))"], "error: train.learning_rate: tag(log, interval(0, 0.1)) draws"),
    (["hydra.sweeper.n_trials=0", LR], "error: hydra.sweeper.n_trials must be an integer >= 1, got 0"),
]


def search_in(where, data_path, *extra: str, n_trials: int = 8):
    """One real search in `where` (its own store and journal); return the completed process."""
    args = ["-m", "hydra/sweeper=search", *SPACE, *OPTIONS, *PRUNING, f"hydra.sweeper.n_trials={n_trials}"]
    args += ["data=fashion_mnist", f"data.path={data_path}", "train.epochs=2", *FAST, *extra]
    done = run_module("sweep.train", *args, cwd=where, uri=f"sqlite:///{where / 'mlflow.db'}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def load(where) -> optuna.Study:
    """The one study in the journal of `where`."""
    storage = study.open_storage(str(where / "mlruns" / "optuna.journal"))
    (name,) = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


@pytest.fixture(scope="module")
def searched(tmp_path_factory, fashion_small):
    """The 8-trial search, then the same command to 10 trials; shared by this module's tests."""
    where = tmp_path_factory.mktemp("search")
    first = search_in(where, fashion_small)
    resumed = search_in(where, fashion_small, n_trials=10)
    uri = f"sqlite:///{where / 'mlflow.db'}"
    return SimpleNamespace(where=where, uri=uri, first=first, resumed=resumed, client=MlflowClient(uri))


def test_every_trial_is_a_run_and_the_two_agree(searched):
    trials = load(searched.where).trials
    runs = {r.info.run_id: r for r in by_role(all_runs(uri=searched.uri), "job")}
    assert len(trials) == 10 and len(runs) == 10
    for trial in trials:
        run = runs[trial.user_attrs[study.ATTR_RUN_ID]]
        assert run.data.tags[study.TAG_TRIAL] == str(trial.number)
        assert run.data.tags[study.TAG_STUDY] == load(searched.where).study_name
        assert run.info.run_name == trial.user_attrs[study.ATTR_NAME]
        assert re.fullmatch(r"train\.learning_rate=[0-9.e+-]+ act=(relu|tanh)", run.info.run_name)
        assert float(run.data.params["train.learning_rate"]) == trial.params["train.learning_rate"]
        assert run.info.status == "FINISHED", run.data.tags.get("failure_reason")
        epochs = sorted(m.step for m in searched.client.get_metric_history(run.info.run_id, "val_accuracy"))
        assert sorted(trial.intermediate_values) == epochs  # every epoch reported to the trial and logged
        if trial.state == TrialState.PRUNED:
            assert run.data.tags[study.TAG_PRUNED] == str(max(trial.intermediate_values)) == "1"
            assert "test_accuracy" not in run.data.metrics  # never evaluated: not a full-length result
        else:
            assert trial.state == TrialState.COMPLETE and study.TAG_PRUNED not in run.data.tags
            assert trial.value == pytest.approx(run.data.metrics["val_accuracy"])  # the last epoch's
            assert epochs == [1, 2] and "test_accuracy" in run.data.metrics
    assert any(t.state == TrialState.PRUNED for t in trials), [t.intermediate_values for t in trials]


def test_each_invocation_is_a_parent_with_the_best_trial(searched):
    runs = all_runs(uri=searched.uri)
    parents = by_role(runs, "parent")
    assert [p.info.status for p in parents] == ["FINISHED", "FINISHED"]
    for parent, n in zip(parents, (8, 2), strict=True):
        children = [r for r in by_role(runs, "job") if r.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert len(children) == n
    best = load(searched.where).best_trial
    last = parents[-1].data
    assert last.tags[study.TAG_STUDY] == load(searched.where).study_name and last.tags["sweep.kind"] == "search"
    assert last.metrics["best.val_accuracy"] == pytest.approx(best.value)
    assert float(last.params["best.train.learning_rate"]) == best.params["train.learning_rate"]
    assert last.tags["best_run_id"] == best.user_attrs[study.ATTR_RUN_ID]
    assert f"best trial {best.number}: val_accuracy={best.value:.4f} (test_accuracy=" in searched.resumed.stdout


def test_the_same_command_resumes_the_study_to_n_trials(searched):
    assert "0 of 8 trials ended before, 8 to run now" in searched.first.stdout
    assert "8 of 10 trials ended before, 2 to run now" in searched.resumed.stdout
    assert [t.number for t in load(searched.where).trials] == list(range(10))
    assert re.search(r"\[search\] trial 8 started: .*\n(.*\n)*\[search\] trial 9 started", searched.resumed.stdout)


def test_compare_ranks_the_trials_and_reports_the_search(searched, tmp_path):
    out = tmp_path / "reports"
    done = run_module("sweep.compare", "--report", "--out", str(out), cwd=searched.where, uri=searched.uri)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    trials = load(searched.where).trials
    n = {s: sum(1 for t in trials if t.state == s) for s in (TrialState.COMPLETE, TrialState.PRUNED)}
    head = f"10 trials ({n[TrialState.COMPLETE]} complete, {n[TrialState.PRUNED]} pruned, 0 failed, 0 killed)."
    assert head in done.stdout
    best = load(searched.where).best_trial
    assert f"Best trial {best.number}: val_accuracy={best.value:.4f} (test accuracy " in done.stdout
    table = pd.read_csv(out / "trials.csv")
    complete = table[table["state"] == "COMPLETE"]
    assert list(complete["rank"]) == list(range(1, n[TrialState.COMPLETE] + 1))
    assert (complete["val_accuracy"].diff().dropna() <= 0).all() and complete["test_accuracy"].notna().all()
    pruned = table[table["state"] == "PRUNED"]
    assert set(pruned["trial"]) == {t.number for t in trials if t.state == TrialState.PRUNED}
    assert pruned["rank"].isna().all() and pruned["test_accuracy"].isna().all()  # never mixed into the ranking
    assert set(table["act"]) <= {"relu", "tanh"} and table["train.learning_rate"].notna().all()
    page = (out / "report.html").read_text()
    assert page.count("<img") == 3 and "Parameter importances" in page and "Parallel coordinates" in page
    last = by_role(all_runs(uri=searched.uri), "parent")[-1]
    logged = {a.path for a in searched.client.list_artifacts(last.info.run_id, "compare")}
    assert {"compare/trials.csv", "compare/report.html"} <= logged


def test_kill_9_then_the_same_command_fails_the_dead_trial_and_goes_on(tmp_path, fashion_small):
    # one job at a time in this process (the basic launcher): the kill takes the running trial's job with it
    args = ["-m", "hydra/sweeper=search", LR, "hydra/launcher=basic", "hydra.sweeper.n_trials=1", *FAST]
    args += ["data=fashion_mnist", f"data.path={fashion_small}", "train.epochs=100"]
    proc = start_module("sweep.train", *args, cwd=tmp_path)
    wait_for(proc, "[search] trial 0 started", "] epoch 2/")
    proc.kill()
    proc.wait()
    again = run_module("sweep.train", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "[search] trial 0 marked FAIL: its search process died" in again.stdout
    assert "0 of 1 trials ended before, 1 to run now" in again.stdout  # a dead trial does not count
    trials = load(tmp_path).trials
    assert [(t.number, t.state) for t in trials] == [(0, TrialState.FAIL), (1, TrialState.COMPLETE)]
    assert trials[0].user_attrs[study.ATTR_END_REASON] == "its search process died"
    runs = {r.info.run_id: r for r in all_runs()}
    dead = runs[trials[0].user_attrs[study.ATTR_RUN_ID]]
    assert dead.info.status == "KILLED" and dead.data.tags[liveness.TAG_END_REASON].startswith("its process died")
    assert runs[trials[1].user_attrs[study.ATTR_RUN_ID]].info.status == "FINISHED"
    assert not [r for r in runs.values() if r.info.status == "RUNNING"]


@pytest.mark.parametrize("args, expected", BAD, ids=[b[1].split(":")[1].strip() for b in BAD])
def test_bad_input_is_one_line_with_no_parent_and_no_study(tmp_path, fashion_small, args, expected):
    done = run_module("sweep.train", "-m", "hydra/sweeper=search", "data=fashion_mnist", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), done.stderr
    assert all_runs() == [] and not list(tmp_path.rglob("*.journal"))


def test_a_pruned_run_is_never_a_cells_full_length_result():
    uri = os.environ["MLFLOW_TRACKING_URI"]
    experiment = store.prepare_experiment(uri, "sweep")
    client = MlflowClient(uri)
    for digest, extra in (("stopped", {study.TAG_PRUNED: "1"}), ("full", {})):
        tags = {store.TAG_ROLE: "job", store.TAG_HASH: digest, store.TAG_SWEEP: "s", **extra}
        client.set_terminated(client.create_run(experiment, tags=tags).info.run_id, "FINISHED")
    assert set(store.finished_runs(uri, experiment)) == {"full"}  # a later grid sweep trains the stopped config
    mlflow.set_tracking_uri(uri)
    statuses = dict(zip(*[query.job_runs(experiment)[c] for c in ("config_hash", "status")], strict=True))
    assert statuses == {"stopped": "PRUNED", "full": "FINISHED"}  # compare's grid never counts it as finished
