"""The race's rules replayed on a finished exhaustive sweep's runs: what a race with other settings would have done.

    python benchmarks/race.py --replay /tmp/bench-race-XXXX/exhaustive    # a store left by race.py --study

A job's training is deterministic for its config and seed (a race's runs and the exhaustive ones agree bit for bit:
same values, same weights hashes), so replaying sweep.race.loop on the store's values and hashes, seed by
seed, is what a race with those settings would have done on this study, without training anything again.
"""

from pathlib import Path
from typing import Dict, List, Optional, Tuple

# (label, settings of sweep.race.rules.Rules beside max_seeds): what --replay and --study print
SETTINGS = [
    ("min_seeds 2", dict(min_seeds=2)),
    ("min_seeds 2, twin_seeds 2 (twins found after round 0)", dict(min_seeds=2, twin_seeds=2)),
    ("min_seeds 2, merge_twins false", dict(min_seeds=2, merge_twins=False)),
    ("min_seeds 3", dict(min_seeds=3)),
    ("min_seeds 3, merge_twins false", dict(min_seeds=3, merge_twins=False)),
]


def finished_outcomes(where: Path, metric: str) -> dict:
    """(cell, seed) -> the Outcome the race would read from the store's FINISHED run of that job."""
    from mlflow import MlflowClient

    from sweep.race.jobs import outcome
    from sweep.tracking import store

    uri = f"sqlite:///{where / 'mlflow.db'}"
    experiment = MlflowClient(uri).get_experiment_by_name("sweep").experiment_id
    runs = store.finished_runs(uri, experiment).values()
    return {(r.data.tags[store.TAG_CELL], int(r.data.params["train.seed"])): outcome(r, metric) for r in runs}


def replay(found: dict, settings: dict, seeds: int):
    """The race of these settings (max_seeds = the store's seeds per cell) on the store's outcomes."""
    from sweep.race import loop as race_loop
    from sweep.race.rules import Rules

    cells = sorted({cell for cell, _ in found})
    rules = Rules(**{"max_seeds": seeds, **settings})
    return race_loop.run(cells, rules, lambda round_, jobs: {job: found[job] for job in jobs})


def lines(where: Path, seeds: Optional[int] = None, winner: Optional[str] = None, best_sets=None) -> List[str]:
    """One line per setting: jobs used (and their share of the exhaustive grid), twins, cells left, the winner.

    With best_sets ({metric: the exhaustive sweep's indistinguishable-from-best cells}), each winner is checked
    against them, and the baseline follows: every cell at k seeds, the best mean taken as the winner.
    """
    from sweep.race.rules import Rules

    found = finished_outcomes(Path(where), Rules.metric)
    seeds = seeds or _seeds_per_cell(found)
    half = len({cell for cell, _ in found}) * seeds // 2
    budget = [(f"min_seeds 2, max_jobs {half} (half the exhaustive)", dict(min_seeds=2, max_jobs=half))]
    out = []
    for label, values in SETTINGS + budget:
        if values.get("min_seeds", Rules.min_seeds) > seeds:
            continue
        race = replay(found, values, seeds)
        exhaustive = len(race.cells) * seeds
        left = sum(len(race.named(c)) for c in race.alive)
        best = race.best[0] if race.best else "none"
        same = " (= the race's)" if winner and best == winner else ""
        out.append(
            f"  {label}: {race.jobs} jobs ({100 * race.jobs / exhaustive:.0f}%), {len(race.twins)} twins, "
            f"{len(race.alive)} distinct left ({left} cells); winner {best}{same}{_inside(best, best_sets)}"
        )
    return out + (_uniform(found, seeds, best_sets) if best_sets else [])


def _uniform(found: dict, seeds: int, best_sets: dict) -> List[str]:
    """The baseline at the same cost: every cell at k seeds (no race), the best mean of the metric the winner."""
    cells = sorted({cell for cell, _ in found})
    out = []
    for k in range(1, seeds):
        means = {c: sum(found[(c, s)].value for s in range(k)) / k for c in cells}
        best = max(cells, key=means.__getitem__)
        out.append(
            f"  no race, every cell at {k} seed(s): {k * len(cells)} jobs ({100 * k // seeds}%); "
            f"best mean {best}{_inside(best, best_sets)}"
        )
    return out


def _inside(cell: str, best_sets: Optional[dict]) -> str:
    """'; in the best set on test_accuracy yes, on val_accuracy NO' (empty without best sets)."""
    if not best_sets:
        return ""
    return "; in the best set " + ", ".join(f"on {m} {'yes' if cell in s else 'NO'}" for m, s in best_sets.items())


def _seeds_per_cell(found: Dict[Tuple[str, int], object]) -> int:
    """The seeds every cell of the store has (0..n-1)."""
    per_cell: Dict[str, set] = {}
    for cell, seed in found:
        per_cell.setdefault(cell, set()).add(seed)
    return min(len(s) for s in per_cell.values())
