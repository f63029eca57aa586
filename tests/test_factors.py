"""compare over any factors, without training: the cells a sweep's runs make, the pivot, the figures, old runs."""

import itertools
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sweep.analysis import design, figures, learning, outputs, report, stats, tables

REGS = ["none", "dropout", "batchnorm", "l1", "l2", "dropout_batchnorm", "batchnorm_l2", "batchnorm_l1"]
ACTS = ["relu", "leaky_relu", "tanh", "sigmoid"]
# The study's 32-cell tables as compare printed them before cells had a definition of their own (same numbers).
STUDY_TABLES = """
## Test accuracy (rows: reg, columns: act)

| reg               | relu   | leaky_relu   | tanh   | sigmoid   |
|:------------------|:-------|:-------------|:-------|:----------|
| none              | 0.6000 | 0.6010       | 0.6020 | 0.6030    |
| dropout           | 0.6100 | 0.6110       | 0.6120 | 0.6130    |
| batchnorm         | 0.6200 | 0.6210       | 0.6220 | 0.6230    |
| l1                | 0.6300 | 0.6310       | 0.6320 | 0.6330    |
| l2                | 0.6400 | 0.6410       | 0.6420 | 0.6430    |
| dropout_batchnorm | 0.6500 | 0.6510       | 0.6520 | 0.6530    |
| batchnorm_l2      | 0.6600 | 0.6610       | 0.6620 | 0.6630    |
| batchnorm_l1      | 0.6700 | 0.6710       | 0.6720 | 0.6730    |

## Train accuracy (rows: reg, columns: act)

| reg               | relu   | leaky_relu   | tanh   | sigmoid   |
|:------------------|:-------|:-------------|:-------|:----------|
| none              | 0.6500 | 0.6510       | 0.6520 | 0.6530    |
| dropout           | 0.6600 | 0.6610       | 0.6620 | 0.6630    |
| batchnorm         | 0.6700 | 0.6710       | 0.6720 | 0.6730    |
| l1                | 0.6800 | 0.6810       | 0.6820 | 0.6830    |
| l2                | 0.6900 | 0.6910       | 0.6920 | 0.6930    |
| dropout_batchnorm | 0.7000 | 0.7010       | 0.7020 | 0.7030    |
| batchnorm_l2      | 0.7100 | 0.7110       | 0.7120 | 0.7130    |
"""


def job(cell: str, seed=0, status="FINISHED", acc=0.8, run=None, cell_hash=None, **params) -> dict:
    """One job run as query.job_runs returns it."""
    return {
        "cell": cell,
        "cell_hash": cell_hash,
        "config_hash": f"{cell} {seed}",
        "sweep_id": "s",
        "run": run or cell,
        "seed": str(seed),
        "status": status,
        "reason": None,
        "train_accuracy": acc + 0.05,
        "test_accuracy": acc if status == "FINISHED" else np.nan,
        "best_epoch": 12.0,
        "run_id": f"r-{cell}-{seed}",
        "start_time": seed,
        **{f"params.{k}": v for k, v in params.items()},
    }


def study_jobs() -> pd.DataFrame:
    """The 32 cells in Hydra's (alphabetical) order, accuracy rising with the study's row and column order."""
    rows = []
    for reg, act in itertools.product(sorted(REGS), sorted(ACTS)):
        acc = round(0.6 + 0.01 * REGS.index(reg) + 0.001 * ACTS.index(act), 4)
        rows.append(job(f"reg={reg} act={act}", acc=acc, cell_hash=f"{reg}-{act}", **{"data.limit": "3000"}))
    return pd.DataFrame(rows)


RECORDED = {"swept": ["reg", "act"], "factors": ["reg", "act"], "baseline": {"reg": "none", "act": "relu"}}


def test_the_study_tables_are_unchanged():
    runs, found = design.build(study_jobs(), "s", [], RECORDED)
    assert (found.factors, found.rows, found.cols, found.pages) == (["reg", "act"], "reg", "act", [])
    text = tables.render(runs, found, "golden")
    assert text.startswith("# Sweep golden: 32 cells, 32 runs, all finished\n\nFixed: data.limit=3000, seeds 0\n")
    assert STUDY_TABLES.strip() in text
    assert "no claim can be made" in text and "—" not in text  # n = 1: one line, not a table of dashes


def test_an_unknown_option_goes_after_the_studys_alphabetically():
    jobs = pd.DataFrame([job(f"reg=none act={a}", cell_hash=a) for a in ["relu", "elu", "tanh", "celu"]])
    runs, found = design.build(jobs, "s", [], {**RECORDED, "factors": ["act"]})
    assert (found.rows, found.cols) == ("reg", "act")
    assert list(tables.pivot(runs, "test_accuracy", "reg", "act").columns) == ["relu", "tanh", "celu", "elu"]


def test_runs_that_differ_in_a_swept_key_are_never_averaged():
    jobs = [
        job(f"reg=none act=relu train.learning_rate={lr}", seed, acc=a, cell_hash=lr)
        for lr, seed, a in [("0.01", 0, 0.75), ("0.01", 1, 0.76), ("0.001", 0, 0.70), ("0.001", 1, 0.72)]
    ]
    recorded = {
        "swept": ["train.learning_rate", "train.seed"],
        "factors": ["train.learning_rate"],
        "baseline": {"train.learning_rate": "0.001"},
    }
    runs, found = design.build(pd.DataFrame(jobs), "s", [], recorded)
    cells = stats.aggregate(tables.finished(runs), found.factors)
    assert cells[["train.learning_rate", "n"]].values.tolist() == [["0.001", 2], ["0.01", 2]]
    assert (found.rows, found.cols) == ("train.learning_rate", None)
    text = tables.render(runs, found, "lr")
    assert "# Sweep lr: 2 cells, 4 runs, all finished" in text and "0.7100 ± 0.0141 (n=2)" in text
    assert re.search(r"\| train\.learning_rate +\| 0\.01 +\| 0\.001 +\| — +\| 2 +\| 2 ", text)  # 0.01 vs 0.001


def test_old_runs_group_by_their_names_and_unrecorded_factors_are_found():
    # before cells had their own names, a run's `cell` tag carried the seed, and parents recorded no factors
    planned = [
        {"cell": f"reg={r} act=relu train.seed={s}", "config_hash": f"reg={r} act=relu train.seed={s} {s}"}
        for r in ("none", "l1")
        for s in (0, 1)
    ]
    jobs = [job(p["cell"], s, acc=0.8 + s / 100) for p, s in zip(planned, [0, 1, 0, 1], strict=True)]
    jobs[-1] = job("reg=l1 act=relu train.seed=1", 1, status="FAILED")
    runs, found = design.build(pd.DataFrame(jobs), "s", planned, None)
    assert found.factors == ["reg"] and found.baseline == {"reg": "none"}  # from the package's defaults
    assert set(runs["cell"]) == {"reg=none act=relu", "reg=l1 act=relu"}
    assert stats.aggregate(tables.finished(runs), found.factors)["n"].tolist() == [2, 1]
    text = tables.render(runs, found, "old")
    assert "2 cells, 4 runs, 3 finished, 1 failed" in text and "- reg=l1 act=relu train.seed=1: FAILED" in text


def test_a_planned_cell_without_runs_keeps_its_place():
    cell = "reg=none act=relu model.reg_at={}"
    planned = [
        {"cell": cell.format(p), "config_hash": f"{cell.format(p)} 0", "cell_hash": p} for p in ("input", "hidden")
    ]
    recorded = {"factors": ["model.reg_at"], "baseline": {"model.reg_at": "input"}}
    runs, found = design.build(pd.DataFrame([job(cell.format("input"), cell_hash="input")]), "s", planned, recorded)
    assert runs.set_index("cell_key").loc["hidden", ["status", "model.reg_at"]].tolist() == ["MISSING", "hidden"]
    assert tables.pivot(runs, "test_accuracy", "model.reg_at", None)["test accuracy"].tolist() == ["0.8000", "MISSING"]
    cells = stats.aggregate(tables.finished(runs), found.factors)
    fig = figures.table_heatmap(cells, found, runs, "s")
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.8000", "missing"]
    plt.close(fig)


def test_runs_alike_in_every_factor_but_not_in_their_cell_are_kept_apart():
    jobs = pd.DataFrame([job("reg=none act=relu", 0, cell_hash="a"), job("reg=none act=relu", 1, cell_hash="b")])
    runs, found = design.build(jobs, "s", [], RECORDED)
    assert "cell_key" in found.factors and len(stats.aggregate(tables.finished(runs), found.factors)) == 2


@pytest.mark.parametrize(
    "factors, rows, cols, expected",
    [
        ([], None, None, ("reg", "act", [])),
        (["act"], None, None, ("reg", "act", [])),
        (["reg", "act", "model.reg_at"], None, None, ("reg", "act", ["model.reg_at"])),
        (["act", "train.learning_rate"], None, None, ("train.learning_rate", "act", [])),
        (["reg", "train.learning_rate"], None, None, ("reg", "train.learning_rate", [])),
        (["reg", "act", "train.learning_rate"], None, "train.learning_rate", ("reg", "train.learning_rate", ["act"])),
        (["reg", "act"], "act", "reg", ("act", "reg", [])),
        (["reg", "act"], None, "reg", ("act", "reg", [])),
        (["reg", "act"], "act", None, ("act", "reg", [])),
        (["train.learning_rate"], None, "act", ("train.learning_rate", "act", [])),
    ],
)
def test_the_pivot_defaults_to_reg_by_act_and_takes_any_swept_key(factors, rows, cols, expected):
    chosen = design.view(factors, rows, cols)
    assert (chosen["rows"], chosen["cols"], chosen["pages"]) == expected


@pytest.fixture
def seeded():
    """reg x act x seed runs with a second placement: a page per placement, n = 2 per cell."""
    rows = [
        job(f"reg={r} act={a} model.reg_at={p}", s, acc=0.8 + 0.01 * s + 0.02 * (r == "l2"), cell_hash=f"{r}{a}{p}")
        for r in ("none", "l2")
        for a in ("relu", "tanh")
        for p in ("input", "hidden")
        for s in (0, 1)
    ]
    runs = pd.DataFrame(rows).assign(best_epoch=[11.0, 12.0] * 8)
    recorded = {
        "factors": ["reg", "act", "model.reg_at"],
        "baseline": {"reg": "none", "act": "relu", "model.reg_at": "input"},
    }
    return design.build(runs, "s", [], recorded)


def test_the_heatmap_names_its_axes_by_the_pivots_keys(seeded, tmp_path):
    runs, found = seeded
    outputs.write_tables(runs, found, "s", tmp_path)
    fig = figures.table_heatmap(stats.aggregate(tables.finished(runs), found.factors), found, runs, "s")
    assert [ax.get_xlabel() for ax in fig.axes[:2]] == ["act", "act"] and fig.axes[0].get_ylabel() == "reg"
    assert [ax.get_title() for ax in fig.axes[:2]] == ["model.reg_at=input", "model.reg_at=hidden"]
    plt.close(fig)
    csv = (tmp_path / "accuracy.csv").read_text()
    assert ",12," in csv and ",12.0," not in csv and "model.reg_at" in csv.splitlines()[0]


def test_the_accuracy_heatmap_promises_a_ci_only_where_it_shows_one(seeded):
    runs, found = seeded
    ranked = stats.ranked(tables.finished(runs), found.factors)
    fig = figures.accuracy_heatmap(ranked, found, runs)
    assert "[95% CI]" in fig.get_suptitle() and "[0." in " ".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    single = tables.finished(runs)[lambda r: r["seed"] == "0"]
    fig = figures.accuracy_heatmap(stats.ranked(single, found.factors), found, runs)
    assert "95% CI" not in fig.get_suptitle() and "no CI" in fig.get_suptitle()
    plt.close(fig)


def test_the_learning_curves_legend_sits_above_the_first_row(seeded):
    runs, found = seeded
    steps = [
        dict(r, step=k, accuracy=0.7, val_accuracy=0.69)
        for r in tables.finished(runs).to_dict("records")
        for k in (1, 2)
    ]
    for _, fig in learning.learning_curves(pd.DataFrame(steps), found):
        fig.canvas.draw()
        (legend,) = fig.legends
        top_of_panels = max(ax.get_window_extent().y1 for ax in fig.axes)
        assert legend.get_window_extent().y0 >= top_of_panels  # above every panel, not under the last row
        plt.close(fig)


def test_best_epoch_shows_whole_epochs_as_such(seeded):
    runs, found = seeded
    ranked = stats.ranked(tables.finished(runs)[lambda r: r["seed"] == "1"], found.factors)
    assert set(report.ranked_table(ranked, found.factors)["best epoch"]) == {"12"}
    assert set(
        report.ranked_table(stats.ranked(tables.finished(runs), found.factors), found.factors)["best epoch"]
    ) == {"11.5"}
