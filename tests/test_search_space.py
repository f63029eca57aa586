"""The search's space keeps Hydra's Optuna sweeper's meaning; options refuse what cannot work; slots refill; Pareto."""

import json
import re
import threading
import time

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.utils import JobReturn, JobStatus
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution, distribution_to_json

from sweep.analysis import search_report, search_view
from sweep.search import options, space
from sweep.search.inflight import InFlight, Job
from tests.conftest import CONF


@pytest.fixture(scope="module")
def parsed():
    """parse(overrides) against the app's composed config, with Hydra's config loader (for glob)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = compose("config")
        loader = GlobalHydra.instance().config_loader()
        yield lambda *overrides: space.parse(list(overrides), config, loader)


def test_the_override_grammar_means_what_hydras_optuna_sweeper_says(parsed):
    got = parsed(
        "train.learning_rate=tag(log,interval(1e-4,1e-1))",
        "reg.dropout=interval(0,0.5)",
        "train.epochs=interval(2,6)",  # an integer key draws integers
        "+x=tag(int,interval(1,10))",
        "train.seed=range(0,3)",  # as in Hydra's Optuna sweeper, the stop is included
        "train.validation_split=range(0.1,0.3,0.1)",
        "act=choice(relu,tanh)",
        "model.hidden=choice([64,64],[128,128])",
        "reg=glob(l*)",
        "data=fashion_mnist",
    ).distributions
    assert got["train.learning_rate"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert got["reg.dropout"] == FloatDistribution(0.0, 0.5)
    assert got["train.epochs"] == IntDistribution(2, 6) and got["x"] == IntDistribution(1, 10)
    assert got["train.seed"] == IntDistribution(0, 3, step=1)
    assert got["train.validation_split"] == FloatDistribution(0.1, 0.3, step=0.1)
    assert got["act"] == CategoricalDistribution(["relu", "tanh"])
    assert got["model.hidden"] == CategoricalDistribution(["[64,64]", "[128,128]"])
    assert got["reg"] == CategoricalDistribution(["l1", "l2"])
    assert "data" not in got


def test_a_trials_overrides_name_and_the_bounds_checked_ahead(parsed):
    searched = parsed(
        "act=choice(relu,tanh)", "train.learning_rate=interval(0.001,0.01)", "+y=choice('a b',c)", "data=mnist"
    )
    params = {"act": "tanh", "train.learning_rate": 0.0031234567, "y": "a b"}
    assert searched.overrides(params) == ["act=tanh", "train.learning_rate=0.0031234567", "+y=a b", "data=mnist"]
    assert searched.name(params) == "act=tanh train.learning_rate=0.003123 y=a b"
    assert searched.examples() == [
        ["act=relu", "train.learning_rate=0.001", "+y=a b", "data=mnist"],
        ["act=tanh", "train.learning_rate=0.001", "+y=a b", "data=mnist"],
        ["act=relu", "train.learning_rate=0.01", "+y=a b", "data=mnist"],
        ["act=relu", "train.learning_rate=0.001", "+y=c", "data=mnist"],
    ]
    assert parsed("act=choice(relu,tanh)").digest() != parsed("act=choice(relu,sigmoid)").digest()


@pytest.mark.parametrize(
    "override, expected",
    [
        ("train.learning_rate=interval(0.1,0.1)", "train.learning_rate: interval(0.1, 0.1) is empty"),
        (
            "train.learning_rate=tag(log,interval(-1,1))",
            "train.learning_rate: tag(log, interval(-1, 1)) draws on a log",
        ),
        ("train.epochs=interval(1.2,1.8)", "train.epochs: interval(1.2, 1.8) holds no integer"),
        ("train.seed=range(3,0)", "train.seed: range(3, 0, 1) is empty"),
        ("data=fashion_mnist", "hydra.sweeper.params: nothing to search"),
    ],
)
def test_a_bad_space_is_one_line_naming_its_key(parsed, override, expected):
    with pytest.raises(ValueError, match=r"^" + re.escape(expected)):
        parsed(override)


def test_options_refuse_what_cannot_work():
    with pytest.raises(ValueError, match="choosing on the test set would leak it"):
        options.objective("test_accuracy", None)
    two = options.objective(["val_accuracy", "fit_time_s"], None)
    assert two.directions == ["maximize", "minimize"] and two.report is None
    with pytest.raises(ValueError, match="hydra.sweeper.pruner: median needs one objective measured every epoch"):
        options.pruner("median", {}, two)
    with pytest.raises(ValueError, match="hydra.sweeper.pruner_options: "):
        options.pruner("asha", {"reduction_factor": 1}, options.objective("val_accuracy", None))
    with pytest.raises(ValueError, match=r"hydra.sweeper.sampler_options.nope: not an option of the tpe sampler"):
        options.sampler("tpe", {"nope": 1}, 0)
    with pytest.raises(ValueError, match=r"hydra.sweeper.direction: one of maximize, minimize for each metric"):
        options.objective(["val_accuracy", "val_loss"], "maximize")
    assert options.sampler("qmc", {}, 0) is not None and options.sampler("cmaes", {}, 0) is not None


class SleepingLauncher:
    """Stands in for Hydra's launcher: each job sleeps the seconds its override names, then returns its index."""

    def __init__(self) -> None:
        self.calls, self.lock = [], threading.Lock()

    def launch(self, batch, initial_job_idx):
        assert len(batch) == 1
        began = time.monotonic()
        time.sleep(float(batch[0][0].partition("=")[2]))
        with self.lock:
            self.calls.append((initial_job_idx, began, time.monotonic()))
        ret = JobReturn()
        ret.status, ret.return_value = JobStatus.COMPLETED, initial_job_idx
        return [ret]


def test_a_short_job_frees_its_slot_at_once_not_at_the_end_of_a_batch():
    jobs = iter([Job([f"sleep={s}"], i) for i, s in enumerate([2.0, 0.1, 0.1, 0.1, 0.1])])
    launcher, ended = SleepingLauncher(), []
    flight = InFlight(launcher, 2, lambda: next(jobs, None), lambda job, r, s: ended.append(job.index), lambda j: True)
    flight.run(lambda: False)
    assert ended == [1, 2, 3, 4, 0]  # the short jobs ran one after another beside job 0, not after its batch
    assert sorted(c[0] for c in launcher.calls) == [0, 1, 2, 3, 4]  # each with its own job index
    assert flight.busy_s >= 2.4


def test_two_objectives_mark_the_pareto_front_and_draw_it(tmp_path):
    search = {
        "study": "s",
        "distributions": {"x": json.loads(distribution_to_json(FloatDistribution(0.0, 1.0)))},
        "metrics": ["val_accuracy", "fit_time_s"],
        "directions": ["maximize", "minimize"],
    }
    table = pd.DataFrame(
        {
            "trial": [0, 1, 2, 3, 4],
            "state": ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED", "FAILED"],
            "pruned_at_epoch": [None, None, None, 1, None],
            "val_accuracy": [0.9, 0.8, 0.7, 0.5, None],
            "fit_time_s": [10.0, 5.0, 8.0, 1.0, None],
            "test_accuracy": [0.88, 0.79, 0.69, None, None],
            "x": [0.1, 0.5, 0.9, 0.3, 0.7],
            "reason": [None, None, None, None, "DivergedError: nan"],
        }
    )
    ranked = search_view.ranked(table, search)
    assert list(ranked["trial"]) == [0, 1, 2, 3, 4] and list(ranked["pareto"]) == [True, True, False, False, False]
    files = search_report.write(table, search, tmp_path, "Search s", full=True)
    page = (tmp_path / "report.html").read_text()
    assert page.count("<img") == 4 and "Pareto front" in page and "On the Pareto front: trial 1" in page
    assert search_view.counts(table) == {"COMPLETE": 3, "PRUNED": 1, "FAILED": 1, "KILLED": 0}
    assert {f.name for f in files} >= {"trials.csv", "report_pareto.png"}


def test_an_error_of_the_search_itself_stops_every_slot_and_is_raised():
    jobs = iter([Job(["sleep=0.1"], 0), Job(["sleep=0.1"], 1)])

    def next_job():
        job = next(jobs, None)
        if job is None:
            raise RuntimeError("the study's storage is gone")
        return job

    flight = InFlight(SleepingLauncher(), 2, next_job, lambda job, result, seconds: None, lambda job: True)
    with pytest.raises(RuntimeError, match="the study's storage is gone"):
        flight.run(lambda: False)
