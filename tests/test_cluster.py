"""A sweep on a multi-node Ray cluster is checked before any run (issue 30, item 7).

The cluster is Ray's own multi-node test cluster on this machine (`ray.cluster_utils.Cluster`: a head and a worker
node with their own resources); every sweep is the real command line.
"""

import pytest
from mlflow import MlflowClient
from ray.cluster_utils import Cluster

from tests import servers
from tests.helpers import start_module, wait_for

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

GRID = ["reg=none", "act=relu,tanh", "data=fashion_mnist", "train.epochs=1", "hydra/launcher=ray"]


@pytest.fixture(scope="module")
def two_nodes():
    """A head and one worker node, 1 CPU each."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster.address
    cluster.shutdown()


def sweep(tmp_path, address: str, uri: str, *more: str):
    env = servers.clean_env(RAY_ADDRESS=address, MLFLOW_TRACKING_URI=uri)
    return servers.run_python("sweep.train", "-m", *GRID, *more, cwd=tmp_path, env=env)


def one_error(done) -> str:
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-3000:]
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in done.stderr
    return line


def test_a_sqlite_store_on_a_two_node_cluster_is_refused_before_it_exists(two_nodes, tmp_path):
    db = tmp_path / "mlflow.db"
    line = one_error(sweep(tmp_path, two_nodes, f"sqlite:///{db}"))
    assert line.startswith(f"error: MLFLOW_TRACKING_URI=sqlite:///{db}: a store on this machine") and "1 node" in line
    assert not db.exists()


def test_a_search_journal_on_a_two_node_cluster_is_refused(two_nodes, tmp_path):
    # a server's URI passes the store's part of the check; the search's journal file does not
    args = ["hydra/sweeper=search", "hydra.sweeper.n_trials=2", "train.learning_rate=interval(0.001,0.01)"]
    line = one_error(sweep(tmp_path, two_nodes, "http://127.0.0.1:9", *args))
    assert "hydra.sweeper.storage=" in line and "give the study a database URL" in line
    assert not (tmp_path / "mlruns").exists()


def test_an_address_where_no_head_answers_is_one_line(tmp_path):
    address = f"127.0.0.1:{servers.free_port()}"
    line = one_error(sweep(tmp_path, address, f"sqlite:///{tmp_path / 'mlflow.db'}"))
    assert line.startswith(f"error: RAY_ADDRESS={address}: no Ray head answers there")
    assert not (tmp_path / "mlflow.db").exists()


@pytest.fixture(scope="module")
def team_server(tmp_path_factory):
    """A PostgreSQL-backed `mlflow server --serve-artifacts`: every node reaches it, none writes to this disk."""
    root = tmp_path_factory.mktemp("team")
    with servers.postgres() as db, servers.mlflow_server(db, root / "artifacts", root / "mlflow.log") as url:
        yield url


def test_a_node_lost_mid_sweep_leaves_one_finished_run_per_cell_and_none_running(team_server, tmp_path, monkeypatch):
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        monkeypatch.setenv("RAY_ADDRESS", cluster.address)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", team_server)
        args = ["reg=none", "act=relu,tanh,sigmoid,leaky_relu", "data=fashion_mnist", "data.limit=6000"]
        args += ["train.epochs=6", "hydra/launcher=ray", "mlflow.experiment=lost_node"]
        proc = start_module("sweep.train", "-m", *args, cwd=tmp_path)
        wait_for(proc, "epoch 1/6", "epoch 1/6", timeout=400)  # two jobs training: one on each node
        cluster.remove_node(worker, allow_graceful=False)  # its raylet and workers killed at once
        output, _ = proc.communicate(timeout=600)
    finally:
        cluster.shutdown()
    assert proc.returncode == 0, output[-4000:]
    client = MlflowClient(team_server)
    experiment = client.get_experiment_by_name("lost_node")
    runs = client.search_runs([experiment.experiment_id], "tags.sweep_role = 'job'", max_results=100)
    finished = [r for r in runs if r.info.status == "FINISHED"]
    assert sorted(r.data.params["act"] for r in finished) == ["leaky_relu", "relu", "sigmoid", "tanh"]
    assert not [r for r in runs if r.info.status == "RUNNING"]
    lost = [r for r in runs if r.info.status in ("KILLED", "FAILED")]
    assert lost and all(r.info.status == "KILLED" for r in lost)  # the attempt on the lost node, ended truthfully
    assert {r.data.tags["sweep.end_reason"] for r in lost} == {
        "its process died (killed, or its node was lost) before it ended its run"
    }
    for run in finished:  # one attempt's points only: every epoch once
        steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "loss"))
        assert steps == list(range(1, 7))
