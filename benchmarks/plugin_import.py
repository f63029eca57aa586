"""What installing sweep costs every other Hydra app: a plain app's start-up with sweep's plugins and without.

Hydra imports every module under the `hydra_plugins` namespace at the start of every app (its plugin scan), so
sweep's sweepers and launcher load in apps that never use them. This runs a plain Hydra app (a task returning a
float, one job) as a fresh process, alternately with sweep on the path and with sweep's folder taken off it, and
prints the medians and their difference. `python benchmarks/plugin_import.py [--runs 9]`.
"""

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = """
import hydra

@hydra.main(version_base="1.3", config_path=None)
def main(cfg) -> float:
    return 0.5

main()
"""
# Runs the app with the folder that holds sweep's packages (src/, on the path through its .pth) off sys.path.
WITHOUT = (
    "import runpy, sys; sys.path.remove({src!r}); sys.argv = [{app!r}, *sys.argv[1:]]; "
    "runpy.run_path({app!r}, run_name='__main__')"
)


def sweep_folder() -> str:
    """The path entry that holds sweep and its hydra_plugins, found without importing sweep."""
    spec = importlib.util.find_spec("sweep")
    return str(Path(spec.origin).parent.parent)


def once(command: list, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    where = Path(tempfile.mkdtemp())
    app = where / "app.py"
    app.write_text(APP)
    with_sweep = [sys.executable, str(app), "hydra.run.dir=out", "hydra/hydra_logging=disabled"]
    without = [sys.executable, "-c", WITHOUT.format(src=sweep_folder(), app=str(app)), *with_sweep[2:]]
    loaded = subprocess.run([*without[:3], *without[3:], "hydra/launcher=joblib_fused"], cwd=where, capture_output=True)
    assert loaded.returncode != 0, "sweep's launcher was still found with sweep off the path"
    times = {"with sweep": [], "without": []}
    for _ in range(runs):  # alternating, so that a machine's slow moment costs both sides alike
        times["with sweep"].append(once(with_sweep, where))
        times["without"].append(once(without, where))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"plain Hydra app, {name:10s}: {value:.3f} s (median of {runs}; spread {min(times[name]):.3f}-"
              f"{max(times[name]):.3f} s)")  # fmt: skip
    print(f"sweep's plugins add {medians['with sweep'] - medians['without']:+.3f} s to every Hydra app's start-up")


if __name__ == "__main__":
    main()
