"""Every feature with a model other than the MLP: served with `mlflow models serve`, searched with pruning, raced.

The user's builder is the one in examples/models, taken from --config-dir as a user runs it.
"""

import json
import os
import shutil
import sys
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from sweep import data
from sweep.tracking import study
from tests import servers
from tests.helpers import all_runs, by_role, sweep_in
from tests.servers import LOOPBACK
from tests.test_race import artifact
from tests.test_search import FAST, OPTIONS, PRUNING, load

pytestmark = pytest.mark.slow  # real sweeps and servers: make test runs it, make test-fast does not

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "models"


def user_dir(where: Path) -> Path:
    """The example's builder beside the command and its option file in the config dir, as a user has them."""
    shutil.copytree(EXAMPLE, where, dirs_exist_ok=True)
    return where


def tiny(fashion_small, epochs: int = 1) -> list:
    return ["data=fashion_mnist", f"data.path={fashion_small}", f"train.epochs={epochs}"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fashion_small):
    """One real sweep of the built-in CNN and the user's builder; its store and its job runs by model."""
    where = user_dir(tmp_path_factory.mktemp("served"))
    uri, _ = sweep_in(where, "--config-dir", str(where), "model=cnn,mine", *tiny(fashion_small))
    return uri, {run.data.params["model"]: run for run in by_role(all_runs(uri=uri), "job")}


def serve(model_uri: str, tracking_uri: str, log: Path, timeout: float = 180) -> tuple:
    """`mlflow models serve` on a free loopback port, in its own process group; (process, url) once /ping answers."""
    port = servers.free_port()
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
    proc = servers.start(
        [*cmd, "--host", LOOPBACK, "-p", str(port)], log, env=dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri)
    )
    url = f"http://{LOOPBACK}:{port}"
    servers.wait(lambda: servers.http_ok(f"{url}/ping"), proc, log, "mlflow models serve", timeout=timeout)
    return proc, url


@pytest.mark.parametrize("name", ["cnn", "mine"])
def test_the_logged_model_is_served_and_answers_raw_images_at_its_test_accuracy(trained, name, fashion_small, tmp_path):
    uri, runs = trained
    run = runs[name]
    mlflow.set_tracking_uri(uri)
    (logged,) = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        output_format="list",
    )
    stored = data.raw("fashion_mnist", str(fashion_small))  # uint8 0-255, as the files hold them
    proc, url = serve(f"models:/{logged.model_id}", uri, tmp_path / "serve.log")
    try:
        body = json.dumps({"inputs": stored.x_test.tolist()}).encode()
        request = urllib.request.Request(f"{url}/invocations", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as reply:
            predictions = np.asarray(json.loads(reply.read())["predictions"])
    finally:
        servers.stop(proc)
    assert predictions.shape == (len(stored.y_test), 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, atol=1e-5)
    served_accuracy = np.mean(np.argmax(predictions, axis=1) == stored.y_test)
    assert served_accuracy == pytest.approx(run.data.metrics["test_accuracy"], abs=1e-6)


def test_a_users_builder_is_searched_over_its_own_key_with_pruning(tmp_path, fashion_small):
    where = user_dir(tmp_path / "search")
    # an integer key's interval draws integers ('int(16,64)' would be Hydra's cast of the two choices 16 and 64);
    # one trial at a time, so the median pruner has 2 complete trials before trial 2 reports its first epoch
    space = ["model.width=interval(16,64)", "train.learning_rate=tag(log,interval(1e-6,1e-2))", "hydra/launcher=basic"]
    args = ["--config-dir", str(where), "model=mine", "hydra/sweeper=search", *space, *OPTIONS, *PRUNING]
    uri, done = sweep_in(where, *args, "hydra.sweeper.n_trials=3", *tiny(fashion_small, epochs=2), *FAST)
    trials = load(where).trials
    runs = {r.info.run_id: r for r in by_role(all_runs(uri=uri), "job")}
    assert len(trials) == 3 and len(runs) == 3
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert trials[0].distributions["model.width"] == IntDistribution(16, 64)
    client = mlflow.MlflowClient(uri)
    for trial in trials:
        run = runs[trial.user_attrs[study.ATTR_RUN_ID]]
        assert run.info.status == "FINISHED" and run.data.params["model"] == "mine"
        assert 16 <= int(run.data.params["model.width"]) == trial.params["model.width"] <= 64
        epochs = sorted(m.step for m in client.get_metric_history(run.info.run_id, "val_accuracy"))
        assert sorted(trial.intermediate_values) == epochs  # reported to the pruner epoch by epoch
        if trial.state == TrialState.PRUNED:
            assert epochs == [1] and run.data.tags[study.TAG_PRUNED] == "1" and "test_accuracy" not in run.data.metrics
        else:
            assert epochs == [1, 2] and trial.value == pytest.approx(run.data.metrics["val_accuracy"])
    assert any(t.state == TrialState.PRUNED for t in trials), [t.intermediate_values for t in trials]


def test_a_users_builder_is_raced_over_seeds(tmp_path, fashion_small):
    where = user_dir(tmp_path / "race")
    race = ["hydra/sweeper=race", "hydra.sweeper.min_seeds=2", "hydra.sweeper.max_seeds=2"]
    uri, done = sweep_in(
        where, "--config-dir", str(where), "model=mine", "model.width=16", "act=relu,tanh", *race, *tiny(fashion_small)
    )
    (parent,) = by_role(all_runs(uri=uri), "parent")
    assert parent.info.status == "FINISHED" and parent.data.tags["sweep.sweeper"] == "race"
    assert parent.data.tags["race.rounds"] == "1" and parent.data.tags["race.stop"]
    rounds, jobs = artifact(parent, "race/rounds.csv"), artifact(parent, "race/jobs.csv")
    assert sorted(rounds["cell"]) == ["reg=none act=relu", "reg=none act=tanh"] and set(rounds["n"]) == {2}
    assert len(jobs) == 4 and parent.data.tags["race.jobs"] == "4"
    client = mlflow.MlflowClient(uri)
    for job in jobs.itertuples():
        run = client.get_run(job.run_id)
        assert run.info.status == "FINISHED" and run.data.params["model"] == "mine"
        assert run.data.params["model.width"] == "16" and run.data.params["train.seed"] == str(job.seed)
        assert run.data.metrics["val_accuracy"] == pytest.approx(job.value)
    assert parent.data.tags["race.best"].split(" | ")[0] in set(rounds["cell"])
