"""The race's rules on constructed samples, its settings and grid checked before anything exists, its error rate."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode

from sweep.config import hydra_settings, plan
from sweep.config.schema import ConfigError
from sweep.race import loop as race_loop
from sweep.race import verdict as racing
from sweep.race.rules import Rules
from tests.conftest import CONF
from tests.helpers import all_runs, run_module

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "race.py"


def test_a_clearly_worse_cell_is_eliminated_and_identical_cells_are_equivalent():
    rules = Rules(min_seeds=3, max_seeds=5)  # 3 looks: each round tests at 0.05 / 3
    samples = {
        "best": np.array([0.900, 0.901, 0.902]),
        "same": np.array([0.900, 0.901, 0.902]),  # e.g. input-level l1: the same numbers seed by seed
        "close": np.array([0.899, 0.902, 0.898]),
        "far": np.array([0.800, 0.801, 0.802]),
    }
    verdict = racing.judge(samples, rules)
    assert verdict.best == "best" and verdict.eliminated == ["far"]
    assert [verdict.state(c) for c in samples] == ["best", "alive", "alive", "eliminated"]
    assert verdict.p_holm["far"] < rules.alpha_per_look < verdict.p_holm["close"]
    assert not verdict.equivalent  # "close" is not shown to be within 0.002 with three seeds
    assert racing.judge({k: samples[k] for k in ("best", "same", "far")}, rules).equivalent
    wide = racing.judge({k: samples[k] for k in ("best", "close")}, Rules(min_seeds=3, max_seeds=5, epsilon=0.02))
    assert wide.equivalent and not racing.judge({"best": samples["best"], "close": samples["close"]}, rules).equivalent


def test_the_level_is_split_over_the_looks():
    assert Rules().looks == 8 and Rules().alpha_per_look == pytest.approx(0.05 / 8)
    assert Rules(min_seeds=2, max_seeds=5, step=2).looks == 3  # seeds 2, 4, 5


def fixed(table: dict, failing=()):
    """evaluate() of a race whose cells give these values by seed; jobs of `failing` cells fail."""
    return lambda round_, jobs: {(c, s): (None if c in failing else table[c][s]) for c, s in jobs}


def test_the_race_runs_rounds_until_one_cell_is_left():
    table = {
        "a": [0.90, 0.91, 0.90, 0.91, 0.90, 0.91],
        "b": [0.88, 0.89, 0.88, 0.89, 0.88, 0.89],
        "c": [0.90, 0.89, 0.91, 0.89, 0.80, 0.80],
    }
    race = race_loop.run(list(table), Rules(min_seeds=2, max_seeds=6), fixed(table, failing=("c",)))
    assert race.failed == ["c"] and race.stop == "one cell left" and race.best == ["a"]
    states = {(r["round"], r["cell"]): r["state"] for r in race.rows}
    assert states[(0, "c")] == "failed" and ("c" not in {c for (n, c) in states if n > 0})
    out = next(n for (n, c), s in states.items() if c == "b" and s == "eliminated")
    assert out >= 1  # b is worse, but not by enough to show with two seeds
    assert race.jobs == 3 * 2 + 2 * out  # round 0 for all three, then a seed a round for a and b
    assert [r["n"] for r in race.rows if r["cell"] == "a"] == list(range(2, 2 + out + 1))


def test_the_race_stops_at_max_seeds_or_before_max_jobs():
    table = {"a": [0.90, 0.91] * 5, "b": [0.905, 0.90] * 5}
    at_max = race_loop.run(list(table), Rules(min_seeds=2, max_seeds=4), fixed(table))
    assert at_max.stop == "the survivors reached max_seeds (4)" and at_max.jobs == 8
    assert set(at_max.best) == {"a", "b"}
    capped = race_loop.run(list(table), Rules(min_seeds=2, max_seeds=4, max_jobs=5), fixed(table))
    assert capped.jobs == 4 and capped.stop.startswith("the next round's 2 jobs would pass max_jobs (5")


def test_twins_race_as_one_and_share_its_fate():
    # b trains exactly as a (same weights at every seed, e.g. input-level l1 beside none); d matches c only at seed 0
    table = {"a": [0.90, 0.91] * 3, "b": [0.90, 0.91] * 3, "c": [0.80, 0.81] * 3, "d": [0.80, 0.82] * 3}
    digests = {"a": "wa", "b": "wa", "c": "wc", "d": "wd"}
    asked = []

    def evaluate(round_, jobs):
        asked.append(sorted(jobs))
        return {
            (c, s): race_loop.Outcome(table[c][s], "wc0" if c in "cd" and s == 0 else f"{digests[c]}{s}")
            for c, s in jobs
        }

    race = race_loop.run(list(table), Rules(min_seeds=2, max_seeds=6, epsilon=0, twin_seeds=2), evaluate)
    assert asked[0] == sorted((c, s) for c in table for s in (0, 1))  # round 0 in one batch: twins need 2 seeds
    assert race.twins == {"b": "a"} and race.named("a") == ["a", "b"]
    twin = [r for r in race.rows if r["cell"] == "b"]
    assert [(r["round"], r["state"], r["same_as"], r["n"]) for r in twin] == [(0, "twin", "a", 2)]
    assert all(r["same_as"] == "" for r in race.rows if r["cell"] != "b")
    assert race.best == ["a"] and race.stop == "one cell left"
    # the default twin_seeds=1: every cell's seed 0 first, then seed 1 only for the cells that are nobody's twin
    asked.clear()
    early = race_loop.run(list(table), Rules(min_seeds=2, max_seeds=6, epsilon=0), evaluate)
    assert asked[:2] == [[(c, 0) for c in "abcd"], [("a", 1), ("c", 1)]]
    assert early.twins == {"b": "a", "d": "c"} and early.jobs == 4 + 2 < race.jobs  # c is out at round 0
    assert [(r["state"], r["n"]) for r in early.rows if r["cell"] in "bd"] == [("twin", 1), ("twin", 1)]
    kept = race_loop.run(list(table), Rules(min_seeds=2, max_seeds=6, epsilon=0, merge_twins=False), evaluate)
    assert kept.twins == {} and set(kept.best) == {"a", "b"} and kept.jobs > race.jobs
    # values alone (no digests, as in the simulation): nobody is a twin, however equal the numbers
    plain = race_loop.run(list(table), Rules(min_seeds=2, max_seeds=6, epsilon=0), fixed(table))
    assert plain.twins == {} and plain.jobs == kept.jobs


def planned(*overrides: str):
    """What sweep's callback does first for hydra/sweeper=race: plan round 0 and check every job's config."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        cfg = loader.load_configuration("config", ["hydra/sweeper=race", *overrides], run_mode=RunMode.MULTIRUN)
        return plan.planned(cfg)


def test_round_zero_is_every_cell_at_min_seeds(fashion_small):
    found = planned("reg=none,l1", "act=relu,tanh", "data=fashion_mnist", f"data.path={fashion_small}")
    cells = found.cells  # checked, named and resumed as a grid's jobs; more rounds follow (no total for the display)
    assert found.more and found.n_jobs == 12 and "train.seed" in found.swept
    assert len(cells) == 4 * 3 and len({c["config_hash"] for c in cells}) == 12
    assert cells[0]["cell"] == "reg=none act=relu" and cells[0]["run"] == "reg=none act=relu train.seed=0"
    assert cells[2]["run"].endswith("train.seed=2") and len({c["cell_hash"] for c in cells}) == 4


GRID = ["reg=none,l1"]
BAD = [
    (GRID + ["train.seed=0,1"], "train.seed: the race runs the seeds itself"),
    (GRID + ["train.seed=3"], "train.seed: the race runs the seeds itself"),
    (GRID + ["hydra.sweeper.min_seeds=1"], "hydra.sweeper.min_seeds must be an integer >= 2, got 1"),
    (GRID + ["hydra.sweeper.max_seeds=2"], "hydra.sweeper.max_seeds must be an integer >= hydra.sweeper.min_seeds (3)"),
    (GRID + ["hydra.sweeper.alpha=0"], "hydra.sweeper.alpha must be in (0, 1), got 0.0"),
    (GRID + ["hydra.sweeper.alpha=1.5"], "hydra.sweeper.alpha must be in (0, 1), got 1.5"),
    (GRID + ["hydra.sweeper.epsilon=-0.01"], "hydra.sweeper.epsilon must be >= 0 (0: no practical-equivalence stop)"),
    (GRID + ["hydra.sweeper.step=0"], "hydra.sweeper.step must be an integer >= 1, got 0"),
    (GRID + ["hydra.sweeper.twin_seeds=4"], "hydra.sweeper.twin_seeds must be an integer from 1 to hydra.sweeper.min"),
    (GRID + ["hydra.sweeper.metric=test_loss"], "hydra.sweeper.metric must be one of val_accuracy, test_accuracy"),
    (
        GRID + ["hydra.sweeper.max_jobs=5"],
        "hydra.sweeper.max_jobs must be null or at least round 0's 2 cells x 3 seeds",
    ),
    (["reg=dropout,l1", "reg.dropout=1.0"], "reg.dropout must be in [0, 1), got 1.0"),
    (["reg=none,l1,none"], "reg: the grid holds the cell reg=none twice"),
]


@pytest.mark.parametrize("overrides, expected", BAD, ids=[b[1][:40] for b in BAD])
def test_bad_settings_and_grids_are_refused_before_anything_exists(fashion_small, overrides, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        planned(*overrides, "data=fashion_mnist", f"data.path={fashion_small}")


def test_a_bad_race_is_one_line_and_exit_2(tmp_path):
    args = ["-m", "hydra/sweeper=race", "reg=none,l1", "train.seed=0,1", "data=fashion_mnist"]
    done = run_module("sweep.train", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: train.seed: the race runs the seeds itself (0, 1, 2"), lines
    assert all_runs() == []


@pytest.mark.parametrize(
    "args, expected",
    [
        (["hydra.sweeper.min_seed=2"], "hydra.sweeper.min_seed: unknown key; known keys here: min_seeds, max_seeds"),
        (["hydra.sweeper.alpha=high"], "hydra.sweeper.alpha: Value 'high' of type 'str' could not be converted to"),
        (["hydra.sweeper.merge_twins=maybe"], "hydra.sweeper.merge_twins: Value 'maybe' is not a valid bool"),
        (["hydra/sweeper=raec"], "hydra/sweeper: unknown option 'raec'; allowed: basic, grid, race, search"),
    ],
)
def test_the_sweepers_settings_are_checked_before_hydra_starts(args, expected):
    line = hydra_settings.check(["-m", "hydra/sweeper=race", "reg=none,l1", *args], str(CONF))
    assert line is not None and line.startswith(expected), line
    fine = ["-m", "hydra/sweeper=race", "hydra.sweeper.min_seeds=2", "+hydra.sweeper.params.act='relu,tanh'"]
    assert hydra_settings.check(fine, str(CONF)) is None


def test_the_simulated_true_best_is_eliminated_in_at_most_alpha_of_races():
    # the hardest shape: four near-ties at the top; without the correction for looks this loses the best in ~10%
    done = subprocess.run(
        [sys.executable, str(BENCH), "--simulate", "150", "--shape", "ties"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    found = re.fullmatch(r"best eliminated in ([\d.]+)% of 150 simulated races, jobs saved ([\d.]+)%", last)
    assert found, last
    assert float(found.group(1)) <= 5.0 and float(found.group(2)) > 20.0
