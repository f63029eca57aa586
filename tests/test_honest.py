"""Seeds as a sweep dimension; compare's aggregates match the runs' own metrics; a no-op regularizer is flagged."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import all_runs, by_role, run_module, sweep_in

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, fashion_small):
    """A real 2 x 2 x 2-seed sweep (8 jobs) and its --report, in a launch dir and store of their own."""
    where = tmp_path_factory.mktemp("seeded")
    uri, done = sweep_in(
        where,
        "reg=none,l1",
        "act=relu,tanh",
        "train.seed=0,1",
        "data=fashion_mnist",
        f"data.path={fashion_small}",
        "train.epochs=1",
    )
    report = run_module("sweep.compare", "--report", cwd=where, uri=uri)
    assert report.returncode == 0, report.stderr[-3000:]
    return where, uri, report


def test_seed_is_part_of_each_cell(seeded):
    where, uri, _ = seeded
    jobs = by_role(all_runs(uri=uri), "job")
    assert len(jobs) == 8
    assert {j.info.run_name for j in jobs} >= {"reg=none act=relu train.seed=0", "reg=l1 act=tanh train.seed=1"}
    assert {j.data.params["train.seed"] for j in jobs} == {"0", "1"}


def test_aggregates_match_the_runs_metrics(seeded):
    where, uri, _ = seeded
    jobs = by_role(all_runs(uri=uri), "job")
    cells = pd.read_csv(where / "reports" / "cells.csv")
    assert len(cells) == 4 and set(cells["n"]) == {2}
    for row in cells.itertuples():
        runs = [j for j in jobs if (j.data.params["reg"], j.data.params["act"]) == (row.reg, row.act)]
        test = np.array([j.data.metrics["test_accuracy"] for j in runs])
        train = np.array([j.data.metrics["train_accuracy"] for j in runs])
        assert row.mean == pytest.approx(test.mean()) and row.std == pytest.approx(test.std(ddof=1))
        assert row.train_mean == pytest.approx(train.mean())
        assert row.gap_mean == pytest.approx((train - test).mean())
        assert row.best_epoch_mean == pytest.approx(np.mean([j.data.metrics["best_epoch"] for j in runs]))
        half = test.std(ddof=1) / np.sqrt(2) * 12.706  # t(0.975, df=1)
        if half > 0:
            assert (row.ci_low, row.ci_high) == pytest.approx((test.mean() - half, test.mean() + half), rel=1e-3)


def test_input_level_l1_is_flagged_as_no_measurable_effect(seeded):
    where, _, report = seeded
    effects = pd.read_csv(where / "reports" / "report_effects.csv")
    l1 = effects[(effects["factor"] == "reg") & (effects["reg"] == "l1")]
    assert len(l1) == 2 and set(l1["verdict"]) == {"no measurable effect"}
    assert (l1["diff"] == 0).all()  # the penalty on the raw input has no gradient: same seed, same run
    assert "no measurable effect" in report.stdout


def test_report_is_self_contained_and_logged_to_the_parent(seeded):
    where, uri, _ = seeded
    html = (where / "reports" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "http://" not in html and "https://" not in html
    (parent,) = by_role(all_runs(uri=uri), "parent")
    from mlflow import MlflowClient

    logged = {a.path for a in MlflowClient(uri).list_artifacts(parent.info.run_id, "compare")}
    assert {"compare/report.html", "compare/report.md", "compare/accuracy.csv"} <= logged
