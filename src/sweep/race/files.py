"""A race's record in its sweep folder, for any app: <sweep dir>/race/rounds.csv, jobs.csv and verdict.md."""

from pathlib import Path
from typing import Any, List

import numpy as np
import pandas as pd

from sweep.race.loop import Race
from sweep.race.records import ROUND_COLUMNS, end_lines
from sweep.race.rules import Rules

FOLDER = "race"


def rounds(race: Race, sign: float = 1.0) -> pd.DataFrame:
    """Every round's rows, means in the metric's own sign (a minimized race runs on negated values)."""
    table = pd.DataFrame(race.rows, columns=ROUND_COLUMNS)
    table["mean"] = sign * table["mean"]
    return table


def verdict(race: Race, jobs: Any, rules: Rules, sign: float = 1.0) -> str:
    """verdict.md: the rules, why the race stopped, the winner, the last round's table and what each cell did."""
    lines = [
        "# Race verdict",
        "",
        f"Metric `{rules.metric}` ({rules.direction}), seeds {rules.min_seeds} to {rules.max_seeds} (+{rules.step} a"
        f" round); Welch's one-sided test against the best, Holm-corrected, alpha {rules.alpha} over {rules.looks}"
        f" looks ({rules.alpha_per_look:.4g} each); equivalence by TOST within epsilon {rules.epsilon:g}.",
        "",
        *[f"- {line}" for line in end_lines(race, jobs, rules, sign)],
        "",
        "| cell | state | n | mean | std | p (Holm, vs the best) | round |",
        "|---|---|---|---|---|---|---|",
    ]
    last = {}
    for row in race.rows:  # each cell's latest row: the round it was last judged in
        last[row["cell"]] = row
    for cell in race.cells:
        r = last.get(cell)
        if r is None:
            continue
        lines.append(
            f"| {cell} | {r['state']}{' as ' + r['same_as'] if r['same_as'] else ''} | {r['n']} | "
            f"{_num(sign * r['mean'])} | {_num(r['std'])} | {_num(r['p_holm'], '.3g')} | {r['round']} |"
        )
    return "\n".join(lines) + "\n"


def _num(value: float, spec: str = ".4f") -> str:
    return "" if value is None or not np.isfinite(value) else format(value, spec)


def write(folder: Path, race: Race, jobs: Any, rules: Rules, sign: float = 1.0) -> List[Path]:
    """Write (or replace) the race's files under `folder`/race; return their paths."""
    out = Path(folder) / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "rounds.csv", out / "jobs.csv", out / "verdict.md"]
    rounds(race, sign).to_csv(paths[0], index=False)
    pd.DataFrame(jobs.used).to_csv(paths[1], index=False)
    paths[2].write_text(verdict(race, jobs, rules, sign))
    return paths
