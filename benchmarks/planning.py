"""Benchmark: composing a grid's job configs before anything runs, Hydra's way against sweep.config.compose_jobs.

    python benchmarks/planning.py                    # the study at 10 seeds: 32 cells x 10 seeds = 320 jobs
    python benchmarks/planning.py --seeds 5 --rates 0.001,0.01   # 32 x 5 x 2 = 320 jobs, two swept values

The launching process composes every job of a grid twice before the first one trains: sweep's check
(sweep.config.plan) and the sweeper's own (`hydra/sweeper=grid`, Hydra's basic sweeper's check). Both ways run here
side by side, in one process, on the same jobs; every job's config is compared with Hydra's own. Prints figures; it
asserts nothing.
"""

import argparse
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sweep.config import compose_jobs, schema  # noqa: E402, F401  (importing schema registers it for compose)

REGS = ["none", "dropout", "batchnorm", "l1", "l2", "dropout_batchnorm", "batchnorm_l1", "batchnorm_l2"]
ACTS = ["relu", "leaky_relu", "tanh", "sigmoid"]


def grid(seeds: int, rates: list) -> list:
    """The jobs the basic sweeper makes of `reg=glob(*) act=glob(*) train.seed=range(N) [train.learning_rate=…]`."""
    rate = [[f"train.learning_rate={r}"] for r in rates] or [[]]
    return [
        [f"reg={reg}", f"act={act}", "data=fashion_mnist", f"train.seed={seed}", *extra]
        for reg in REGS
        for act in ACTS
        for seed in range(seeds)
        for extra in rate
    ]


def timed(make, jobs: list) -> tuple:
    start = time.perf_counter()
    out = [make(job) for job in jobs]
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rates", default="", help="comma-separated learning rates to sweep as well")
    args = parser.parse_args()
    jobs = grid(args.seeds, [r for r in args.rates.split(",") if r])
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        master = compose(config_name="config", return_hydra_config=True)
        loader = GlobalHydra.instance().config_loader()
        hydra_s, theirs = timed(lambda job: loader.load_sweep_config(master, job), jobs)
        ours_s, ours = timed(compose_jobs.composer(loader, master), jobs)
        hydra_again_s, _ = timed(lambda job: loader.load_sweep_config(master, job), jobs)  # a drift check
    same = sum(OmegaConf.to_container(a) == OmegaConf.to_container(b) for a, b in zip(ours, theirs, strict=True))
    hydra_s = (hydra_s + hydra_again_s) / 2
    print(f"{len(jobs)} jobs ({len(REGS) * len(ACTS)} cells): configs equal to Hydra's: {same} of {len(jobs)}")
    print(f"Hydra, every job composed:        {hydra_s:6.1f} s ({1000 * hydra_s / len(jobs):5.0f} ms a job; mean of 2)")
    print(f"compose_jobs, once per choices:   {ours_s:6.1f} s ({1000 * ours_s / len(jobs):5.0f} ms a job)")
    print(f"composing sped up {hydra_s / ours_s:.1f}x (sweep's check and the grid sweeper's compose so)")


if __name__ == "__main__":
    main()
