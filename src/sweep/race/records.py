"""What a race records on its parent run after every round (rounds, jobs, plan, tags) and prints as it goes."""

from typing import Callable, List

import numpy as np
import pandas as pd

from sweep.race.jobs import Jobs
from sweep.race.loop import Race
from sweep.race.rules import Rules
from sweep.tracking import records, store

ROUNDS, JOBS, PLAN = "race/rounds.csv", "race/jobs.csv", store.PLANNED_CELLS
ROUND_COLUMNS = ["round", "cell", "n", "mean", "std", "p_holm", "state", "same_as"]
TEST_SET_NOTE = (
    "cells were selected on test_accuracy: the test set was used for selection, so the winner's test accuracy "
    "is optimistically biased (the default, val_accuracy, keeps the test set out of it)"
)


def start(uri: str, parent_id: str, rules: Rules, cells: int) -> None:
    """Tag the parent as a race with its rules, before round 0."""
    tags = {f"race.{k}": "null" if v is None else v for k, v in vars(rules).items()}
    tags.update({"sweep.sweeper": "race", "race.cells": cells, "race.alpha_per_look": f"{rules.alpha_per_look:.6g}"})
    if rules.metric == "test_accuracy":
        tags["race.note"] = TEST_SET_NOTE
    records.set_tags(uri, parent_id, tags)


def writer(uri: str, parent_id: str, jobs: Jobs) -> Callable[[Race], None]:
    """After each round: print it, and replace the parent's rounds, jobs and plan (so compare reads the race)."""

    def write(race: Race) -> None:
        for line in round_lines(race, jobs):
            print(f"[race] {line}", flush=True)
        records.log_table(uri, parent_id, pd.DataFrame(race.rows, columns=ROUND_COLUMNS), ROUNDS)
        records.log_table(uri, parent_id, pd.DataFrame(jobs.used), JOBS)
        plan = [{k: u[k] for k in ("cell", "run", "cell_hash", "config_hash")} for u in jobs.used]
        records.log_json(uri, parent_id, {"cells": plan}, PLAN)
        tags = {"race.rounds": race.rounds + 1, "race.jobs": race.jobs, "sweep.n_jobs": race.jobs}
        tags["race.twins"] = len(race.twins)
        if race.stop:
            tags.update(
                {
                    store.TAG_RACE_BEST: " | ".join(c for best in race.best for c in race.named(best)),
                    "race.stop": race.stop,
                }
            )
        records.set_tags(uri, parent_id, tags)

    return write


def round_lines(race: Race, jobs: Jobs, sign: float = 1.0) -> List[str]:
    """The round just judged, in a few lines (sign -1: the race ran on negated values, to minimize)."""
    rows = [r for r in race.rows if r["round"] == race.rounds]
    used = [u for u in jobs.used if u["round"] == race.rounds]
    best = next((r for r in rows if r["state"] == "best"), None)
    out = [f"round {race.rounds}: {len(used)} jobs ({sum(u['reused'] for u in used)} reused from the store)"]
    if best:
        out[0] += f"; best {best['cell']} ({sign * best['mean']:.4f}, n={best['n']})"
    for r in rows:
        if r["state"] in ("eliminated", "failed"):
            p = f" (p Holm {r['p_holm']:.3g} vs the best)" if np.isfinite(r["p_holm"]) else ""
            twins = race.named(r["cell"])[1:]
            along = f", with its twin(s) {', '.join(twins)}" if twins else ""
            out.append(f"  {r['state']}: {r['cell']} ({sign * r['mean']:.4f}, n={r['n']}){p}{along}")
        elif r["state"] == "twin":
            out.append(f"  twin: {r['cell']} races as {r['same_as']} (bit-identical weights at every seed, n={r['n']})")
    out.append(f"  {len(race.alive)} of {len(race.cells)} cells alive" + _twins_note(race))
    return out


def end_lines(race: Race, jobs: Jobs, rules: Rules, sign: float = 1.0) -> List[str]:
    """How the race ended: why, the winner (or the set that remains), and the jobs against the exhaustive grid."""
    exhaustive = len(race.cells) * rules.max_seeds
    reused = sum(u["reused"] for u in jobs.used)
    winners = [
        f"{' = '.join(race.named(c))} ({rules.metric} {sign * np.mean(race.values[c]):.4f}, n={len(race.values[c])})"
        for c in race.best
    ]
    lines = [f"stopped after round {race.rounds}: {race.stop}", f"best: {' | '.join(winners) or 'none'}"]
    lines.append(
        f"jobs: {race.jobs} used ({race.jobs - reused} run now, {reused} reused) of the exhaustive {exhaustive} "
        f"({len(race.cells)} cells x {rules.max_seeds} seeds): {100 * (1 - race.jobs / exhaustive):.0f}% saved"
    )
    return lines + ([f"note: {TEST_SET_NOTE}"] if rules.metric == "test_accuracy" else [])


def _twins_note(race: Race) -> str:
    alive = sum(len(race.named(c)) - 1 for c in race.alive)
    return f" (and {alive} twin(s) racing as them)" if alive else ""
