"""The statistics on small constructed sweeps whose answers are known without running the code under test."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp

from sweep.analysis import effects as effect_stats
from sweep.analysis import stats

T_975_DF2 = 4.302652729911275  # Student's t 0.975 quantile, 2 degrees of freedom (any t table)
FACTORS = ["model.reg_at", "reg", "act"]  # the study's swept keys, placement included
BASELINE = {"model.reg_at": "input", "reg": "none", "act": "relu"}


def frame(cells: dict) -> pd.DataFrame:
    """One row per run from {(reg_at, reg, act): [test accuracies, one per seed]}; train = test + 0.02."""
    rows = [
        dict(
            reg=reg,
            act=act,
            **{"model.reg_at": reg_at},
            seed=seed,
            train_accuracy=acc + 0.02,
            test_accuracy=acc,
            best_epoch=seed + 3,
            run_id=f"{reg_at}-{reg}-{act}-{seed}",
        )
        for (reg_at, reg, act), accs in cells.items()
        for seed, acc in enumerate(accs)
    ]
    return pd.DataFrame(rows, columns=[*FACTORS, "seed", "train_accuracy", "test_accuracy", "best_epoch", "run_id"])


def row(table: pd.DataFrame, **key) -> pd.Series:
    found = table.loc[np.logical_and.reduce([table[k] == v for k, v in key.items()])]
    assert len(found) == 1, found
    return found.iloc[0]


def test_aggregate_matches_hand_computed_values():
    runs = frame({("input", "none", "relu"): [0.90, 0.92, 0.94], ("input", "l1", "relu"): [0.8]})
    cells = stats.aggregate(runs, FACTORS)
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
    cells = stats.aggregate(frame({("input", "none", "relu"): [0.9, 0.9, 0.9]}), FACTORS)
    assert (cells.loc[0, "ci_low"], cells.loc[0, "ci_high"]) == (pytest.approx(0.9), pytest.approx(0.9))


def test_unfinished_runs_are_dropped_and_a_sweep_without_factors_is_one_cell():
    runs = frame({("input", "none", "relu"): [0.9, 0.91, 0.92]})
    runs.loc[2, "test_accuracy"] = np.nan
    cells = stats.aggregate(runs, FACTORS)
    assert list(cells["model.reg_at"]) == ["input"] and cells.loc[0, "n"] == 2
    alone = stats.aggregate(runs, [])  # seeds only: every run is in the one cell
    assert len(alone) == 1 and alone.loc[0, "n"] == 2 and alone.loc[0, "mean"] == pytest.approx(0.905)


def test_cells_are_told_apart_by_every_factor_and_levels_sort_by_number():
    runs = pd.DataFrame(
        {
            "train.learning_rate": ["0.01", "0.01", "0.001", "0.001", "1e-4", "1e-4"],
            "test_accuracy": [0.8, 0.82, 0.7, 0.72, 0.6, 0.6],
            "train_accuracy": [0.9] * 6,
            "best_epoch": [1.0] * 6,
        }
    )
    cells = stats.aggregate(runs, ["train.learning_rate"])
    assert list(cells["train.learning_rate"]) == ["1e-4", "0.001", "0.01"] and set(cells["n"]) == {2}
    assert cells["mean"].tolist() == pytest.approx([0.6, 0.71, 0.81])


def test_ranked_marks_separated_cells_worse_and_close_ones_indistinguishable():
    runs = frame(
        {
            ("input", "none", "relu"): [0.950, 0.951, 0.952],
            ("input", "dropout", "relu"): [0.949, 0.951, 0.953],  # same mean region: cannot be told apart
            ("input", "l1", "relu"): [0.900, 0.901, 0.902],  # 5 points lower, tiny spread: clearly worse
        }
    )
    ranked = stats.ranked(runs, FACTORS)
    assert list(ranked["reg"]) == ["none", "dropout", "l1"] and list(ranked["rank"]) == [1, 2, 3]
    assert list(ranked["vs_best"]) == ["best", "indistinguishable", "worse"]
    p_close = sp.ttest_ind([0.949, 0.951, 0.953], [0.950, 0.951, 0.952], equal_var=False).pvalue
    p_far = sp.ttest_ind([0.900, 0.901, 0.902], [0.950, 0.951, 0.952], equal_var=False).pvalue
    # Holm with two tests: the smaller p is doubled, the larger kept but never below the first adjusted value
    assert row(ranked, reg="l1")["p_holm"] == pytest.approx(min(1, 2 * p_far))
    assert row(ranked, reg="dropout")["p_holm"] == pytest.approx(min(1, max(p_close, 2 * p_far)))


def test_ranked_compares_across_placements_and_identical_cells_are_indistinguishable():
    runs = frame({("input", "none", "relu"): [0.9, 0.9], ("hidden", "l2", "relu"): [0.9, 0.9]})
    ranked = stats.ranked(runs, FACTORS)
    assert list(ranked["vs_best"]) == ["best", "indistinguishable (identical runs)"]
    assert ranked["p_holm"].isna().all()  # no test statistic exists, so no p-value is reported


def test_ranked_with_single_runs_makes_no_claim():
    runs = frame({("input", "none", "relu"): [0.95], ("input", "l1", "relu"): [0.90, 0.91]})
    ranked = stats.ranked(runs, FACTORS)
    assert list(ranked["vs_best"]) == ["best", stats.NO_CLAIM] and ranked["p_value"].isna().all()
    runs = frame({("input", "none", "relu"): [0.95, 0.96], ("input", "l1", "relu"): [0.90]})
    assert row(stats.ranked(runs, FACTORS), reg="l1")["vs_best"] == stats.NO_CLAIM


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
    everything = effect_stats.effects(runs, FACTORS, BASELINE)
    effects = everything[everything["factor"] == "reg"]
    assert len(effects) == 3 and (effects["verdict"] == effect_stats.NO_EFFECT).all()
    assert effects["diff"].tolist() == [0.0, 0.0, 0.0] and not effects[["ci_low", "ci_high"]].isna().any().any()
    zero = row(effects, act="tanh")
    assert zero["ci_low"] == 0.0 == zero["ci_high"] and zero["at"] == "model.reg_at=input act=tanh"
    tanh = everything[everything["factor"] == "act"]  # tanh against relu, at each regularizer that has both
    assert set(tanh["reg"]) == {"none", "l1"} and set(tanh["verdict"]) == {"lowers test accuracy"}
    assert row(tanh, reg="none")["diff"] == pytest.approx(0.93 - 0.96)


def test_effects_report_the_difference_and_welch_interval():
    none, dropout, l1 = [0.900, 0.905, 0.910], [0.930, 0.935, 0.940], [0.85, 0.85]
    cells = {("hidden", "none", "relu"): none, ("hidden", "dropout", "relu"): dropout, ("hidden", "l1", "relu"): l1}
    effects = effect_stats.effects(frame(cells), FACTORS, BASELINE)
    assert set(effects["factor"]) == {"reg"}  # one placement and one activation: only the regularizer varies
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
    effects = effect_stats.effects(runs, FACTORS, BASELINE)
    effects = effects[effects["factor"] == "reg"]
    assert row(effects, act="relu")["verdict"] == "no reg=none cell"
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
    table, note = effect_stats.anova(frame(two_by_two()), FACTORS)
    assert note.startswith("ANOVA (type II) of test accuracy on 8 runs: reg, act")
    # balanced 2x2, 2 runs per cell: SS_reg = 8 * 0.01**2, SS_act = SS_int = 0, SS_res = 8 * 0.001**2
    assert list(table.index) == ["reg", "act", "reg x act", "residual"]
    assert table["sum_sq"].tolist() == pytest.approx([8e-4, 0, 0, 8e-6], abs=1e-12)
    assert table["df"].tolist() == [1, 1, 1, 4]
    assert table.loc["reg", "F"] == pytest.approx(400)
    assert table.loc["reg", "p"] < 1e-4 and table.loc["reg x act", "p"] == pytest.approx(1)


def test_anova_takes_every_factor_but_makes_no_claim_on_single_runs():
    table, note = effect_stats.anova(frame({**two_by_two("input"), **two_by_two("hidden")}), FACTORS)
    assert list(table.index) == [
        "model.reg_at",
        "reg",
        "act",
        "model.reg_at x reg",
        "model.reg_at x act",
        "reg x act",
        "residual",
    ]
    # 16 runs, 7 parameters (mean, three main effects, three two-way interactions; no three-way term)
    assert table.loc["reg", "sum_sq"] == pytest.approx(16e-4) and table.loc["residual", "df"] == 9
    table, note = effect_stats.anova(frame({**two_by_two("input"), **two_by_two("hidden", n=1)}), FACTORS)
    assert table is None and "no claim can be made" in note


def test_anova_keeps_main_effects_where_cells_are_missing_and_skips_identical_runs():
    cells = two_by_two()
    del cells[("input", "dropout", "tanh")]
    table, note = effect_stats.anova(frame(cells), FACTORS)
    assert list(table.index) == ["reg", "act", "residual"]  # no interaction: one combination never ran
    assert "1 pair(s) lack some" in note
    flat = {key: [0.9, 0.9] for key in two_by_two()}
    table, note = effect_stats.anova(frame(flat), FACTORS)
    assert table is None and "identical" in note


def test_anova_with_one_activation_is_one_way():
    runs = frame({("input", "none", "relu"): [0.9, 0.91], ("input", "l2", "relu"): [0.95, 0.96]})
    table, note = effect_stats.anova(runs, FACTORS)
    assert note.endswith("on 4 runs: reg") and list(table.index) == ["reg", "residual"]


def test_caveats_state_plainly_that_single_runs_allow_no_claim():
    assert "no claim can be made" in effect_stats.caveats(frame({("input", "none", "relu"): [0.9]}), FACTORS)[0]
    some = frame({("input", "none", "relu"): [0.9, 0.91], ("input", "l1", "relu"): [0.9]})
    (line,) = effect_stats.caveats(some, FACTORS)
    assert "no claim can be made" in line and "model.reg_at=input reg=l1 act=relu" in line
    assert effect_stats.caveats(frame(two_by_two()), FACTORS) == []
