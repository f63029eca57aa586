"""Racing over seeds: error control on simulated cells, and the real study raced against its exhaustive sweep.

    python benchmarks/race.py --simulate 2000             # synthetic cells shaped like the study's
    python benchmarks/race.py --simulate 2000 --shape ties --naive   # the hardest shape, without the looks' correction
    python benchmarks/race.py --study                     # 32 cells, full data, 12 epochs: race vs 5 seeds each
    python benchmarks/race.py --study --limit 3000 --epochs 2 --regs none,dropout --acts relu,sigmoid   # a try
    python benchmarks/race.py --replay DIR                # other settings replayed on --study's exhaustive store

Prints figures; it asserts nothing. The simulation's last line: `best eliminated in P% of N simulated races, jobs
saved S%`. Both the simulation and the sweeper run sweep.race.loop (one implementation of the rules).
"""

import argparse
import gc
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # race_study.py beside this file

from sweep.race import loop as race_loop  # noqa: E402
from sweep.race.rules import Rules  # noqa: E402

# True mean and spread over seeds of each synthetic cell's metric; the first is the true best.
SHAPES = {
    # like the study: the best, three close contenders, eight somewhat worse, twenty clearly worse
    "study": [(0.890, 0.003), (0.8895, 0.003), (0.889, 0.003), (0.888, 0.003)]
    + [(m, 0.003) for m in np.linspace(0.880, 0.886, 8)]
    + [(m, (0.002, 0.004, 0.006)[i % 3]) for i, m in enumerate(np.linspace(0.84, 0.875, 20))],
    # the hardest for error control: four near-ties at the top (within a tenth of a spread), ten far below
    "ties": [(0.890, 0.003), (0.8898, 0.003), (0.8896, 0.003), (0.8894, 0.003)] + [(0.86, 0.003)] * 10,
}


class Uncorrected(Rules):
    """The rules without the correction for repeated looks: every round tests at alpha itself."""

    @property
    def alpha_per_look(self) -> float:
        return self.alpha


def simulate(n: int, shape: str, rules: Rules, seed: int) -> tuple:
    """Race n times on the shape's cells; return (races that eliminated the true best, mean jobs per race)."""
    rng = np.random.default_rng(seed)
    truth = SHAPES[shape]
    cells = [f"cell{i:02d}" for i in range(len(truth))]

    def draw(round_: int, jobs: list) -> dict:
        return {(c, s): rng.normal(*truth[cells.index(c)]) for c, s in jobs}

    lost, jobs = 0, 0
    gc.freeze()  # statsmodels' Holm runs gc.collect() on every call: 90 ms over the libraries' objects, 1 ms frozen
    for _ in range(n):
        race = race_loop.run(cells, rules, draw)
        lost += any(r["cell"] == cells[0] and r["state"] == "eliminated" for r in race.rows)
        jobs += race.jobs
    return lost, jobs / n


def print_simulation(args: argparse.Namespace) -> None:
    kind = Uncorrected if args.naive else Rules
    rules = kind(min_seeds=args.min_seeds, max_seeds=args.max_seeds, step=args.step, alpha=args.alpha)
    cells = len(SHAPES[args.shape])
    exhaustive = cells * rules.max_seeds
    level = "at every look (uncorrected)" if args.naive else f"over {rules.looks} looks ({rules.alpha_per_look:.4g})"
    print(
        f"simulated races: shape {args.shape} ({cells} cells), min_seeds {rules.min_seeds}, max_seeds "
        f"{rules.max_seeds}, step {rules.step}, alpha {rules.alpha} {level}"
    )
    lost, jobs = simulate(args.simulate, args.shape, rules, args.seed)
    print(f"mean jobs per race {jobs:.1f} of the exhaustive {exhaustive} ({cells} cells x {rules.max_seeds} seeds)")
    print(
        f"best eliminated in {100 * lost / args.simulate:.1f}% of {args.simulate} simulated races, "
        f"jobs saved {100 * (1 - jobs / exhaustive):.1f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--simulate", type=int, metavar="N", help="race N times on synthetic cells")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="study")
    parser.add_argument("--naive", action="store_true", help="test at alpha every round (no correction for looks)")
    parser.add_argument("--seed", type=int, default=0, help="the simulation's random seed")
    parser.add_argument("--study", action="store_true", help="race the real study and run it exhaustively")
    parser.add_argument("--replay", metavar="DIR", help="replay the rules on an exhaustive store (DIR/mlflow.db)")
    parser.add_argument("--min-seeds", type=int, default=Rules.min_seeds)
    parser.add_argument("--max-seeds", type=int, default=Rules.max_seeds)
    parser.add_argument("--step", type=int, default=Rules.step)
    parser.add_argument("--alpha", type=float, default=Rules.alpha)
    args, rest = parser.parse_known_args()
    if args.simulate:
        print_simulation(args)
    if args.study:
        import race_study

        race_study.main(rest)
    if args.replay:
        import race_study

        race_study.print_replay(Path(args.replay))
    if not (args.simulate or args.study or args.replay):
        parser.error("give --simulate N, --study or --replay DIR")


if __name__ == "__main__":
    main()
