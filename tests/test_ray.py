"""`hydra/launcher=ray` against a real Ray head on loopback: a 4-job sweep lands in one store under one parent."""

import re
import secrets
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, Iterator

import pytest
from mlflow import MlflowClient
from omegaconf import OmegaConf

from sweep.config import plan
from sweep.process import console
from sweep.tracking import store, study
from tests import servers
from tests.servers import LOOPBACK

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

RAY_CONF = Path(__file__).resolve().parents[1] / "conf" / "hydra" / "launcher" / "ray.yaml"
CELLS = {("none", "relu"), ("none", "sigmoid"), ("l2", "relu"), ("l2", "sigmoid")}
EXPERIMENT = "on_ray"


def loopback_env() -> Dict[str, str]:
    """An environment for a loopback Ray cluster with token auth, without any MLflow store or sweep context."""
    env = {k: v for k, v in servers.clean_env().items() if not k.startswith("RAY_")}
    return {
        **env,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),  # the cluster's token, handed to the head and its drivers
        # On Linux Ray registers the node under the machine's network address; this keeps it on 127.0.0.1.
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    }


@contextmanager
def ray_head(env: Dict[str, str], num_cpus: int) -> Iterator[str]:
    """A Ray head node on loopback started with exactly `env`; yields its address (host:port)."""
    root = servers.short_dir("sweep-ray-")
    port, log = servers.free_port(), root / "head.log"
    flags = ("node-manager", "object-manager", "ray-client-server", "dashboard-agent-listen", "dashboard-agent-grpc")
    ports = [f"--{flag}-port={servers.free_port()}" for flag in (*flags, "metrics-export", "runtime-env-agent")]
    cmd = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", f"--node-ip-address={LOOPBACK}"]
    options = [f"--port={port}", f"--num-cpus={num_cpus}", "--include-dashboard=false", "--disable-usage-stats"]
    options += [f"--object-store-memory={100 * 2**20}", f"--temp-dir={root}", *ports]
    proc = servers.start([*cmd, *options], log, env=env, cwd=root)  # workers run here: Hydra's job folders land here
    try:
        servers.wait(lambda: "Ray runtime started" in servers.tail(log, 10**6), proc, log, "ray head", timeout=90)
        yield f"{LOOPBACK}:{port}"
    finally:
        servers.stop(proc, group=False)  # `ray start --block` stops its own processes; signalled all at once it stalls
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_env():
    """One token-auth environment for the head and its driver, with no MLflow store or sweep context in it."""
    return loopback_env()


@pytest.fixture(scope="module")
def ray_address(ray_env):
    """A 2-CPU Ray head on loopback, started once for this module and stopped by its pid."""
    with ray_head(ray_env, num_cpus=2) as address:
        yield address


@pytest.fixture(scope="module")
def ray_sweep(ray_address, ray_env, fashion_small, tmp_path_factory):
    """A real 2 x 2 multirun whose jobs run as Ray tasks on that head; the store is SQLite in the launch dir."""
    where = tmp_path_factory.mktemp("ray_launch")
    uri = f"sqlite:///{where / 'store' / 'mlflow.db'}"
    env = dict(ray_env, RAY_ADDRESS=ray_address, MLFLOW_TRACKING_URI=uri, RAY_DEDUP_LOGS="0")
    overrides = ["reg=none,l2", "act=relu,sigmoid", "data=fashion_mnist", f"data.path={fashion_small}"]
    args = [*overrides, "train.epochs=1", "hydra/launcher=ray", f"mlflow.experiment={EXPERIMENT}"]
    done = servers.run_python("sweep.train", "-m", *args, cwd=where, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return SimpleNamespace(where=where, client=MlflowClient(uri), output=done.stdout + done.stderr)


def test_jobs_run_as_tasks_on_the_running_cluster(ray_sweep, ray_address):
    assert f"Connecting to existing Ray cluster at address: {ray_address}" in ray_sweep.output
    plain = re.sub(r"\x1b\[[0-9;]*m", "", ray_sweep.output)  # Ray colours its task prefixes
    started = re.findall(r"\(_run_job pid=(\d+)\) \[sweep\] cell \d of 4", plain)
    assert len(started) == 4


def test_all_runs_land_in_one_store_under_one_parent(ray_sweep):
    client = ray_sweep.client
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get(store.TAG_ROLE) == "parent"]
    jobs = [r for r in runs if r.data.tags.get(store.TAG_ROLE) == "job"]
    assert len(parents) == 1 and len(jobs) == 4 and parents[0].info.status == "FINISHED"
    for job in jobs:
        assert job.info.status == "FINISHED"
        assert job.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert job.data.tags[store.TAG_SWEEP] == parents[0].data.tags[store.TAG_SWEEP]
    assert {(j.data.params["reg"], j.data.params["act"]) for j in jobs} == CELLS
    assert client.search_runs(["0"]) == []  # nothing fell into the Default experiment
    assert not (ray_sweep.where / "mlruns").exists()  # no job fell back to a store of its own


def test_ray_config_forwards_every_sweep_variable():
    env_vars = OmegaConf.load(RAY_CONF).ray.init.runtime_env.env_vars
    expected = {
        "MLFLOW_TRACKING_URI",
        store.ENV_SWEEP_ID,
        store.ENV_PARENT,
        store.ENV_EXPERIMENT,
        store.ENV_N_JOBS,
        store.ENV_WORKERS,
    }
    login = {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}  # a team server's (docs/team.md)
    searched = {study.ENV_STUDY, study.ENV_STORAGE, study.ENV_PRUNER, study.ENV_REPORT}  # the trial number: env_set
    assert set(env_vars) == expected | {plan.ENV_SWEPT_KEYS, console.ENV_LIVE} | login | searched


def test_a_search_keeps_its_trials_in_flight_on_ray(ray_address, ray_env, fashion_small, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = dict(ray_env, RAY_ADDRESS=ray_address, MLFLOW_TRACKING_URI=uri, RAY_DEDUP_LOGS="0")
    args = ["-m", "hydra/sweeper=search", "train.learning_rate=tag(log,interval(1e-3,1e-2))", "act=choice(relu,tanh)"]
    args += [
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.pruner=median",
        "data=fashion_mnist",
        f"data.path={fashion_small}",
    ]
    args += ["train.epochs=1", "speed.jit_compile=false", "hydra/launcher=ray", f"mlflow.experiment={EXPERIMENT}"]
    done = servers.run_python("sweep.train", *args, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert len(set(re.findall(r"\(_run_job pid=\d+\) \[sweep\] trial (\d)", plain))) == 4  # each a Ray task
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    jobs = [r for r in runs if r.data.tags.get(store.TAG_ROLE) == "job"]
    assert sorted(int(j.data.tags[study.TAG_TRIAL]) for j in jobs) == [0, 1, 2, 3]
    assert {j.info.status for j in jobs} == {"FINISHED"}
    assert "study " in plain and "4 trials ended (4 complete, 0 pruned, 0 fail)" in plain


def test_a_wrong_cluster_token_is_one_line_before_any_run(ray_address, ray_env, tmp_path):
    db = tmp_path / "mlflow.db"
    env = dict(ray_env, RAY_ADDRESS=ray_address, MLFLOW_TRACKING_URI=f"sqlite:///{db}", RAY_AUTH_TOKEN="0" * 64)
    args = ["reg=none", "act=relu,tanh", "data=fashion_mnist", "train.epochs=1", "hydra/launcher=ray"]
    done = servers.run_python("sweep.train", "-m", *args, cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-3000:]
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: RAY_ADDRESS={ray_address}: the cluster refused this driver") and not db.exists()
