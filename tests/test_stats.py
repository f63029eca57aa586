"""The statistics on small constructed sweeps whose answers are known without running the code under test."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp

from sweep.analysis import effects as effect_stats
from sweep.analysis import stats

T_975_DF2 = 4.302652729911275  # Student's t 0.975 quantile, 2 degrees of freedom (any t table)


def frame(cells: dict) -> pd.DataFrame:
    """One row per run from {(reg_at, reg, act): [test accuracies, one per seed]}; train = test + 0.02."""
    rows = [
        dict(
            reg=reg,
            act=act,
            reg_at=reg_at,
            seed=seed,
            train_accuracy=acc + 0.02,
            test_accuracy=acc,
            best_epoch=seed + 3,
            run_id=f"{reg_at}-{reg}-{act}-{seed}",
        )
        for (reg_at, reg, act), accs in cells.items()
        for seed, acc in enumerate(accs)
    ]
    return pd.DataFrame(rows, columns=[*stats.CELL, "seed", "train_accuracy", "test_accuracy", "best_epoch", "run_id"])


def row(table: pd.DataFrame, **key) -> pd.Series:
    found = table.loc[np.logical_and.reduce([table[k] == v for k, v in key.items()])]
    assert len(found) == 1, found
    return found.iloc[0]


def test_aggregate_matches_hand_computed_values():
    cells = stats.aggregate(frame({("input", "none", "relu"): [0.90, 0.92, 0.94], ("input", "l1", "relu"): [0.8]}))
    none = row(cells, reg="none")
    half = T_975_DF2 * 0.02 / math.sqrt(3)
    assert (none["n"], none["mean"], none["std"]) == (3, pytest.approx(0.92), pytest.approx(0.02))
    assert (none["ci_low"], none["ci_high"]) == (pytest.approx(0.92 - half), pytest.approx(0.92 + half))
    assert none["train_mean"] == pytest.approx(0.94) and none["gap_mean"] == pytest.approx(0.02)
    assert none["best_epoch_mean"] == pytest.approx(4.0)  # epochs 3, 4, 5
    single = row(cells, reg="l1")
    assert single["n"] == 1 and math.isnan(single["std"]) and math.isnan(single["ci_low"])
    assert list(cells["reg"]) == ["none", "l1"]  # the study's order, not alphabetical


def test_aggregate_identical_runs_have_a_point_interval():
    cells = stats.aggregate(frame({("input", "none", "relu"): [0.9, 0.9, 0.9]}))
    assert (cells.loc[0, "ci_low"], cells.loc[0, "ci_high"]) == (pytest.approx(0.9), pytest.approx(0.9))


def test_runs_without_placement_count_as_input_and_unfinished_runs_are_dropped():
    runs = frame({("input", "none", "relu"): [0.9, 0.91, 0.92]}).drop(columns="reg_at")
    runs.loc[2, "test_accuracy"] = np.nan
    cells = stats.aggregate(runs)
    assert list(cells["reg_at"]) == ["input"] and cells.loc[0, "n"] == 2


def test_ranked_marks_separated_cells_worse_and_close_ones_indistinguishable():
    runs = frame(
        {
            ("input", "none", "relu"): [0.950, 0.951, 0.952],
            ("input", "dropout", "relu"): [0.949, 0.951, 0.953],  # same mean region: cannot be told apart
            ("input", "l1", "relu"): [0.900, 0.901, 0.902],  # 5 points lower, tiny spread: clearly worse
        }
    )
    ranked = stats.ranked(runs)
    assert list(ranked["reg"]) == ["none", "dropout", "l1"] and list(ranked["rank"]) == [1, 2, 3]
    assert list(ranked["vs_best"]) == ["best", "indistinguishable", "worse"]
    p_close = sp.ttest_ind([0.949, 0.951, 0.953], [0.950, 0.951, 0.952], equal_var=False).pvalue
    p_far = sp.ttest_ind([0.900, 0.901, 0.902], [0.950, 0.951, 0.952], equal_var=False).pvalue
    # Holm with two tests: the smaller p is doubled, the larger kept but never below the first adjusted value
    assert row(ranked, reg="l1")["p_holm"] == pytest.approx(min(1, 2 * p_far))
    assert row(ranked, reg="dropout")["p_holm"] == pytest.approx(min(1, max(p_close, 2 * p_far)))


def test_ranked_compares_across_placements_and_identical_cells_are_indistinguishable():
    runs = frame({("input", "none", "relu"): [0.9, 0.9], ("hidden", "l2", "relu"): [0.9, 0.9]})
    ranked = stats.ranked(runs)
    assert list(ranked["vs_best"]) == ["best", "indistinguishable (identical runs)"]
    assert ranked["p_holm"].isna().all()  # no test statistic exists, so no p-value is reported


def test_ranked_with_single_runs_makes_no_claim():
    runs = frame({("input", "none", "relu"): [0.95], ("input", "l1", "relu"): [0.90, 0.91]})
    ranked = stats.ranked(runs)
    assert list(ranked["vs_best"]) == ["best", stats.NO_CLAIM] and ranked["p_value"].isna().all()
    runs = frame({("input", "none", "relu"): [0.95, 0.96], ("input", "l1", "relu"): [0.90]})
    assert row(stats.ranked(runs), reg="l1")["vs_best"] == stats.NO_CLAIM


def test_effects_identical_runs_have_no_measurable_effect():
    # input-level l1/l2 train exactly like none with the same seed: same numbers, seed by seed
    runs = frame(
        {
            ("input", "none", "relu"): [0.95, 0.96, 0.97],
            ("input", "l1", "relu"): [0.95, 0.96, 0.97],
            ("input", "l2", "relu"): [0.95, 0.96, 0.97],
            ("input", "none", "tanh"): [0.93, 0.93],  # zero variance on both sides
            ("input", "l1", "tanh"): [0.93, 0.93],
        }
    )
    effects = effect_stats.effects(runs)
    assert len(effects) == 3 and (effects["verdict"] == effect_stats.NO_EFFECT).all()
    assert effects["diff"].tolist() == [0.0, 0.0, 0.0] and not effects[["ci_low", "ci_high"]].isna().any().any()
    zero = row(effects, act="tanh")
    assert zero["ci_low"] == 0.0 == zero["ci_high"]


def test_effects_report_the_difference_and_welch_interval():
    none, dropout, l1 = [0.900, 0.905, 0.910], [0.930, 0.935, 0.940], [0.85, 0.85]
    effects = effect_stats.effects(
        frame({("hidden", "none", "relu"): none, ("hidden", "dropout", "relu"): dropout, ("hidden", "l1", "relu"): l1})
    )
    up = row(effects, reg="dropout")
    # equal spreads (sd 0.005, n 3): Welch's df is 4, CI = 0.03 ± t(0.975, 4) * sqrt(2 * 0.005**2 / 3)
    half = sp.t.ppf(0.975, 4) * math.sqrt(2 * 0.005**2 / 3)
    assert up["diff"] == pytest.approx(0.03) and up["verdict"] == "raises test accuracy"
    assert (up["ci_low"], up["ci_high"]) == (pytest.approx(0.03 - half), pytest.approx(0.03 + half))
    down = row(effects, reg="l1")  # l1 has no spread and sits far below none: a clear drop
    assert down["diff"] == pytest.approx(-0.055) and down["verdict"] == "lowers test accuracy"


def test_effects_without_a_baseline_or_with_single_runs_make_no_claim():
    runs = frame(
        {
            ("input", "dropout", "relu"): [0.9, 0.91],
            ("input", "none", "tanh"): [0.9],
            ("input", "l1", "tanh"): [0.9, 0.92],
        }
    )
    effects = effect_stats.effects(runs)
    assert row(effects, act="relu")["verdict"] == "no `none` cell"
    assert row(effects, act="tanh")["verdict"] == stats.NO_CLAIM and math.isnan(row(effects, act="tanh")["diff"])


def two_by_two(reg_at: str = "input", n: int = 2) -> dict:
    """reg raises accuracy by exactly 0.02, act does nothing, and every cell has the same ±0.001 noise."""
    noise = [-0.001, 0.001, 0.0][:n]
    return {
        (reg_at, reg, act): [0.9 + (0.02 if reg == "dropout" else 0) + e for e in noise]
        for reg in ("none", "dropout")
        for act in ("relu", "tanh")
    }


def test_anova_matches_hand_computed_sums_of_squares():
    table, note = effect_stats.anova(frame(two_by_two()))["input"]
    assert "two-way" in note
    # balanced 2x2, 2 runs per cell: SS_reg = 8 * 0.01**2, SS_act = SS_int = 0, SS_res = 8 * 0.001**2
    assert list(table.index) == ["activation", "regularizer", "activation x regularizer", "residual"]
    assert table["sum_sq"].tolist() == pytest.approx([0, 8e-4, 0, 8e-6], abs=1e-12)
    assert table["df"].tolist() == [1, 1, 1, 4]
    assert table.loc["regularizer", "F"] == pytest.approx(400)
    assert table.loc["regularizer", "p"] < 1e-4 and table.loc["activation x regularizer", "p"] == pytest.approx(1)


def test_anova_per_placement_only_where_every_cell_has_two_runs():
    runs = frame({**two_by_two("input"), **two_by_two("hidden", n=1)})
    result = effect_stats.anova(runs)
    assert list(result) == ["input", "hidden"] and result["input"][0] is not None
    assert result["hidden"][0] is None and "no claim can be made" in result["hidden"][1]


def test_anova_skipped_for_missing_cells_and_identical_runs():
    cells = two_by_two()
    del cells[("input", "dropout", "tanh")]
    assert effect_stats.anova(frame(cells))["input"][0] is None
    flat = {key: [0.9, 0.9] for key in two_by_two()}
    table, note = effect_stats.anova(frame(flat))["input"]
    assert table is None and "identical" in note


def test_anova_with_one_activation_is_one_way():
    runs = frame({("input", "none", "relu"): [0.9, 0.91], ("input", "l2", "relu"): [0.95, 0.96]})
    table, note = effect_stats.anova(runs)["input"]
    assert "one-way" in note and list(table.index) == ["regularizer", "residual"]


def test_caveats_state_plainly_that_single_runs_allow_no_claim():
    assert "no claim can be made" in effect_stats.caveats(frame({("input", "none", "relu"): [0.9]}))[0]
    some = effect_stats.caveats(frame({("input", "none", "relu"): [0.9, 0.91], ("input", "l1", "relu"): [0.9]}))
    assert "no claim can be made" in some[0] and "l1/relu@input" in some[0]
    assert effect_stats.caveats(frame(two_by_two())) == []
