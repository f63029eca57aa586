"""Random override sets, valid and invalid (hypothesis): the job runs, or it is refused with one line naming a key
and nothing is written to the store.

Every drawn set goes through the checks `python -m sweep.train` makes before anything is created; a set they pass
then trains for real (in this process, 1-2 epochs on a few real images, a fresh SQLite store). A set that passes the
checks and then fails in MLflow, Hydra, Keras or the data is a check missing. The CLI test draws sets with a bad value
through the real command, as a multirun, and looks into the store afterwards.

Profiles: `ci` (default: derandomized, a fixed sample that keeps the suite's time) and `thorough`
(`SWEEP_HYPOTHESIS=thorough`: 300 random sets, for hunting).
"""

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow import MlflowClient

from sweep.config import CONF_DIR, checks, hydra_settings, limits, overrides
from sweep.tracking import store
from sweep.training import job
from tests.conftest import compose_cfg
from tests.helpers import run_module

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

settings.register_profile("ci", max_examples=10, derandomize=True, deadline=None)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("SWEEP_HYPOTHESIS", "ci"))
NO_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

# Per key: values valid on their own (some impossible together: data.limit=2 with train.validation_split=0.9),
# and values that are wrong whatever else is given.
VALID = {
    "reg": ["none", "dropout", "l2"],
    "act": ["relu", "tanh"],
    "train.epochs": ["1", "2"],
    "train.batch_size": ["7", "64"],
    "train.validation_split": ["0.1", "0.5", "0.9"],
    "train.learning_rate": ["0.01", "1e-4"],
    "train.seed": ["0", "4294967295"],
    "data.limit": ["60", "2", "9"],
    "model.hidden": ["[8]", "[16,4]"],
    "model.reg_at": ["input", "hidden"],
    "reg.dropout": ["0.0", "0.5"],
    "mlflow.experiment": ["probe", "'a study/with: odd names'"],
    "speed.loop": ["keras", "in_graph"],
}
INVALID = {
    "reg": ["nope"],
    "act": ["nope"],
    "train.epochs": ["0", "-3", "many"],
    "train.batch_size": ["0"],
    "train.validation_split": ["0", "1.0"],
    "train.learning_rate": ["0", "-1", "inf", "nan"],
    "train.seed": ["-1", "4294967296"],
    "data.limit": ["0", "1"],
    "model.hidden": ["[]", "[0]", "[8,-1]"],
    "model.reg_at": ["middle"],
    "reg.dropout": ["1.0", "-0.1"],
    "mlflow.experiment": ["''", "x" * 501],
    "speed.loop": ["eager"],
    "train.epoch": ["2"],
    "+extra": ["1"],
}
BASE = {"data": "fashion_mnist", "data.limit": "60", "train.epochs": "1", "model.hidden": "[8]"}


def pick(pool: dict) -> st.SearchStrategy:
    """A few keys of `pool`, each with one of its values."""
    keys = st.lists(st.sampled_from(sorted(pool)), min_size=1, max_size=4, unique=True)
    return keys.flatmap(lambda ks: st.tuples(*(st.tuples(st.just(k), st.sampled_from(pool[k])) for k in ks)))


@st.composite
def override_sets(draw):
    """(overrides, whether one of them is wrong whatever else is given)."""
    good = dict(draw(pick(VALID)))
    bad = dict(draw(pick(INVALID))) if draw(st.booleans()) else {}
    return {**BASE, **good, **bad}, bool(bad)


def named(message: str, keys) -> bool:
    """The error line starts with one of the keys it was given (or the config group it belongs to)."""
    names = {k.lstrip("+") for k in keys} | {k.lstrip("+").partition(".")[0] for k in keys}
    return any(message.startswith((f"{n}:", f"{n} ")) for n in names)


def precheck(argv: list) -> str:
    """What `python -m sweep.train` checks before Hydra starts, then what a lone job checks before the store."""
    problem = overrides.check(argv, str(CONF_DIR)) or hydra_settings.check(argv, str(CONF_DIR))
    if problem:
        return problem
    cfg = compose_cfg(*argv)
    try:
        checks.validate(cfg)
        limits.read_data(cfg)
    except ValueError as exc:
        return str(exc)
    return ""


@settings(suppress_health_check=NO_HEALTH)
@given(override_sets())
def test_a_drawn_set_runs_or_is_refused_with_one_line(fashion_small, drawn):
    given_values, wrong = drawn
    argv = [f"{k}={v}" for k, v in {**given_values, "data.path": str(fashion_small)}.items()]
    problem = precheck(argv)
    if problem:
        assert "\n" not in problem and named(problem, given_values), problem
        return
    assert not wrong, f"a wrong value passed the checks: {argv}"
    cfg = compose_cfg(*argv)
    with tempfile.TemporaryDirectory() as where:
        uri = f"sqlite:///{Path(where) / 'mlflow.db'}"
        store.prepare_experiment(uri, cfg.mlflow.experiment)
        ctx = job.JobContext(uri=uri, sweep_id="property", choices={"reg": cfg.reg.name, "act": cfg.act.name})
        job.run(cfg, ctx)  # anything a library refuses here is a check that is missing
        client = MlflowClient(uri)
        runs = client.search_runs([client.get_experiment_by_name(cfg.mlflow.experiment).experiment_id])
        assert [r.info.status for r in runs] == ["FINISHED"], argv


SWEEPS = {
    "reg": ["glob(zzz)", "none,nope"],
    "act": ["glob(zz*)"],
    "train.epochs": ["range(5,1)", "1,0"],
    "data.limit": ["60,1"],
    "hydra.launcher.n_jobs": ["0"],
    "hydra/launcher": ["nope"],
    "hydra.launcher.nope": ["1"],
    "hydra.sweeper.max_batch_size": ["0"],
}


@settings(suppress_health_check=NO_HEALTH, max_examples=min(settings().max_examples, 5))
@given(pick(VALID), pick({**INVALID, **SWEEPS}))
def test_a_bad_multirun_exits_2_with_one_line_and_an_empty_store(tmp_path, fashion_small, good, bad):
    values = {**BASE, **dict(good), **dict(bad), "data.path": str(fashion_small)}
    with tempfile.TemporaryDirectory(dir=tmp_path) as where:
        db = Path(where) / "mlflow.db"
        argv = [f"{k}={v}" for k, v in values.items()]
        done = run_module("sweep.train", "-m", *argv, cwd=where, uri=f"sqlite:///{db}")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
        assert named(lines[0][len("error: ") :], values), lines[0]
        if db.exists():  # the checks come before the store: a refused sweep leaves no run (not even a parent)
            client = MlflowClient(f"sqlite:///{db}")
            assert not client.search_runs([e.experiment_id for e in client.search_experiments()]), argv
