"""Any study, as a new user runs it: a learning-rate x seed sweep, a user's own activation, compare over both.

One store, three real multiruns in a row: the user's exact command from issue 14 (two learning rates, which compare
once averaged as one cell), the same with two seeds (resumed: two jobs reused), then a user's `act/elu.yaml` from
their own folder swept beside relu (relu reused).
"""

import contextlib
import io
import re
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
import pytest

from sweep import compare
from tests.helpers import all_runs, by_role, run_module

pytestmark = pytest.mark.slow  # real sweeps, servers or clusters: make test runs it, make test-fast does not

USER = ["data=fashion_mnist", "data.limit=2000", "train.epochs=1"]  # the command issue 14 reports
RATES = "train.learning_rate=0.01,0.001"


def compared(where, uri: str, name: str, *args: str) -> SimpleNamespace:
    """`python -m sweep.compare --out NAME ARGS` on the store, run in this process (it has the imports already)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(out):
        env.setenv("MLFLOW_TRACKING_URI", uri)
        code = compare.main(["--out", str(where / name), *args])
    return SimpleNamespace(returncode=code, stdout=out.getvalue())


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The launch dir and store the three sweeps share, and the compare output after each."""
    where = tmp_path_factory.mktemp("any_study")
    uri = f"sqlite:///{where / 'mlflow.db'}"
    steps = {}
    for name, args, report in (
        ("rates", ["-m", RATES, *USER], []),
        ("seeds", ["-m", RATES, "train.seed=0,1", *USER, "hydra/launcher=basic"], ["--report"]),  # 2 jobs to run
    ):
        done = run_module("sweep.train", *args, cwd=where, uri=uri)
        assert done.returncode == 0, done.stderr[-3000:]
        steps[name] = (done, compared(where, uri, name, *report))
    options = where / "my_options" / "act"
    options.mkdir(parents=True)
    (options / "elu.yaml").write_text("name: elu\n")
    args = ["-m", f"--config-dir={options.parent}", "act=relu,elu", *USER, "hydra/launcher=basic"]
    done = run_module("sweep.train", *args, cwd=where, uri=uri)
    assert done.returncode == 0, done.stderr[-3000:]
    steps["elu"] = (done, compared(where, uri, "elu"))
    return where, uri, steps


def test_two_learning_rates_are_two_cells_and_one_run_each_allows_no_claim(store):
    where, _, steps = store
    _, compared = steps["rates"]
    assert compared.returncode == 0, compared.stdout[-2000:]
    out = compared.stdout
    assert "2 cells, 2 runs, all finished" in out and "(n=2)" not in out
    assert "Fixed: data=fashion_mnist, data.limit=2000, data.image_shape=[28,28], data.classes=10" in out
    assert "train.epochs=1" in out and "seeds 0" in out
    assert re.search(r"^\| 0\.001 +\| 0\.\d{4} +\|$", out, re.MULTILINE)
    assert re.search(r"^\| 0\.01 +\| 0\.\d{4} +\|$", out, re.MULTILINE)
    assert out.count("no claim can be made") == 1 and "—" not in out  # one line, no table of dashes
    runs = pd.read_csv(where / "rates" / "accuracy.csv")
    assert sorted(runs["train.learning_rate"]) == [0.001, 0.01] and len(set(runs["cell_hash"])) == 2


def test_with_seeds_each_learning_rate_is_a_cell_of_two_runs(store):
    where, uri, steps = store
    swept, compared = steps["seeds"]
    assert "4 jobs" in swept.stdout and "[sweep] 2 of 4 cells already finished: skipped" in swept.stdout
    assert compared.returncode == 0 and "2 cells, 4 runs, all finished" in compared.stdout
    cells = pd.read_csv(where / "seeds" / "cells.csv")
    assert sorted(cells["train.learning_rate"]) == [0.001, 0.01] and list(cells["n"]) == [2, 2]
    assert {"reg", "act", "mean", "std", "ci_low", "ci_high"} <= set(cells.columns)
    parents = [p for p in by_role(all_runs(uri=uri), "parent") if p.data.tags["sweep_id"] in swept.stdout]
    (parent,) = parents
    assert parent.data.tags["sweep.factors"] == "train.learning_rate"
    jobs = [j for j in by_role(all_runs(uri=uri), "job") if j.data.params["act"] == "relu"]
    for rate in ("0.01", "0.001"):
        mine = [j for j in jobs if j.data.params["train.learning_rate"] == rate]
        assert len({j.data.tags["cell_hash"] for j in mine}) == 1 and len(mine) == 2
        assert {j.data.tags["cell"] for j in mine} == {f"reg=none act=relu train.learning_rate={rate}"}
        test = np.array([j.data.metrics["test_accuracy"] for j in mine])
        row = cells[np.isclose(cells["train.learning_rate"], float(rate))].iloc[0]
        assert row["mean"] == pytest.approx(test.mean()) and row["std"] == pytest.approx(test.std(ddof=1))
    effects = pd.read_csv(where / "seeds" / "report_effects.csv")
    (effect,) = effects.to_dict("records")  # the one factor against its default level
    assert (effect["factor"], effect["level"], effect["baseline"], effect["n"]) == (
        "train.learning_rate",
        0.01,
        0.001,
        2,
    )


def test_a_users_own_activation_sweeps_beside_relu_after_the_studys_own(store):
    where, uri, steps = store
    swept, compared = steps["elu"]
    assert (
        "[sweep] 1 of 2 cells already finished: skipped" in swept.stdout
    )  # relu at 0.001, seed 0 ran in the first sweep
    assert compared.returncode == 0 and "2 cells, 2 runs, all finished" in compared.stdout
    header = next(line for line in compared.stdout.splitlines() if line.startswith("| reg"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["reg", "relu", "elu"]
    (elu,) = [j for j in by_role(all_runs(uri=uri), "job") if j.data.params["act"] == "elu"]
    assert elu.info.status == "FINISHED" and elu.data.params["act.name"] == "elu"
    assert elu.info.run_name == "reg=none act=elu"
    design = mlflow.artifacts.load_dict(
        f"{[p for p in by_role(all_runs(uri=uri), 'parent')][-1].info.artifact_uri}/sweep/design.json"
    )
    assert design["factors"] == ["act"] and design["baseline"] == {"act": "relu"}


def test_compare_pivots_on_any_swept_key_and_refuses_one_not_swept(store, tmp_path, monkeypatch, capsys):
    where, uri, _ = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert compare.main(["--rows", "act", "--out", str(tmp_path)]) == 0  # the latest sweep: relu and elu
    out = capsys.readouterr().out
    assert "## Test accuracy (rows: act)" in out and re.search(r"^\| elu +\| 0\.\d{4} +\|$", out, re.MULTILINE)
    assert compare.main(["--cols", "train.seed", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --cols: 'train.seed' is not a swept key of this sweep; allowed: act, reg"
    )
