"""compare's view of a race (hydra/sweeper=race): each cell's seeds and fate, the best set, the jobs it saved."""

import io
from pathlib import Path
from typing import List, Optional

import mlflow
import pandas as pd

from sweep.analysis import render
from sweep.analysis.render import Block

ROUNDS, JOBS = "race/rounds.csv", "race/jobs.csv"
NOTE = (
    "A race gives cells unequal n by design: a cell leaves once Welch's one-sided test (Holm-corrected, at alpha "
    "split over the race's rounds) shows it worse than that round's best; its mean rests on the seeds it had. "
    "A cell 'same as' another trained bit-identical weights at every seed it had (its runs' weights_hash): it is the "
    "same experiment, raced once."
)


def is_race(parent) -> bool:
    """Whether a sweep's parent run was a race."""
    return parent is not None and parent.data.tags.get("sweep.sweeper") == "race"


def load(parent) -> Optional[tuple]:
    """The race's rounds and jobs tables from its parent run, or None when it has not finished a round."""
    try:
        return tuple(
            pd.read_csv(io.StringIO(mlflow.artifacts.load_text(f"{parent.info.artifact_uri}/{path}")))
            for path in (ROUNDS, JOBS)
        )
    except Exception:  # noqa: BLE001 - a race interrupted before its first round has no tables
        return None


def fates(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per cell as the race left it: n, mean, std, state, the round it left and the p that decided it.

    A twin (a cell whose runs were bit-identical to another's, raced as that one) is listed right after the cell it
    raced as, with the seeds it had when it merged, as "same as <cell>".
    """
    last = rounds.sort_values("round", kind="stable").drop_duplicates("cell", keep="last")
    same_as = last["same_as"].fillna("") if "same_as" in last else pd.Series("", index=last.index)
    twin = last["state"] == "twin"
    out = last.assign(
        state=last["state"].where(last["state"] != "alive", "in the best set").where(~twin, "same as " + same_as),
        left_in=last["round"].where(last["state"].isin(["eliminated", "failed"])),
    )
    order = {"best": 0, "in the best set": 1, "eliminated": 2, "failed": 3}
    out = out.assign(_o=out["state"].map(order), _l=out["left_in"], _m=-out["mean"], _t=twin.astype(int))
    by_cell = out.set_index("cell")
    for i in out.index[twin]:  # sorted as the cell it raced as, right after it
        first = by_cell.loc[same_as[i]]
        out.loc[i, ["_o", "_l", "_m"]] = [first["_o"], first["_l"], first["_m"]]
    out = out.sort_values(["_o", "_l", "_m", "_t"], kind="stable")
    return out[["cell", "n", "mean", "std", "state", "left_in", "p_holm"]].reset_index(drop=True)


def table(rounds: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The fates as display text."""
    cells = fates(rounds)
    return pd.DataFrame(
        {
            "cell": cells["cell"],
            "n": cells["n"],
            metric: [
                f"{m:.4f} ± {s:.4f}" if pd.notna(s) else f"{m:.4f}"
                for m, s in zip(cells["mean"], cells["std"], strict=True)
            ],
            "state": cells["state"],
            "out in round": cells["left_in"].map(lambda r: "—" if pd.isna(r) else str(int(r))),
            "p (Holm) vs best": [
                f"{p:.3g}" if pd.notna(p) and s != "best" else "—"
                for p, s in zip(cells["p_holm"], cells["state"], strict=True)
            ],
        }
    )


def blocks(parent) -> List[Block]:
    """The race as report blocks: the cells' fates, the best, the stop, the jobs used against the exhaustive grid."""
    loaded = load(parent)
    if loaded is None:
        return [("h2", "Race"), ("p", "The race recorded no finished round.")]
    rounds, jobs = loaded
    tags = parent.data.tags
    metric, max_seeds = tags.get("race.metric", "val_accuracy"), int(tags.get("race.max_seeds", 0))
    cells, reused = rounds["cell"].nunique(), int(jobs["reused"].sum())
    used = f"Jobs: {len(jobs)} used ({len(jobs) - reused} launched, {reused} reused from the store)"
    if max_seeds:
        saved = 100 * (1 - len(jobs) / (cells * max_seeds))
        used += f" of the exhaustive {cells * max_seeds} ({cells} cells x {max_seeds} seeds): {saved:.0f}% saved"
    out: List[Block] = [
        ("h2", f"Race on {metric}: {tags.get('race.stop', 'interrupted (no stop recorded)')}"),
        ("table", table(rounds, metric)),
        ("p", f"Best: {tags.get('race.best', '—')}."),
        ("p", used + "."),
        ("p", NOTE),
    ]
    return out + ([("caveat", tags["race.note"])] if tags.get("race.note") else [])


def write(content: List[Block], out: Path) -> Path:
    """Write the race's blocks as race.md into `out`; return its path."""
    path = out / "race.md"
    path.write_text(render.body(content), encoding="utf-8")
    return path
