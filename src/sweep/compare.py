"""`python -m sweep.compare`: query a sweep's runs from MLflow and build the study's reg x act table."""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

import mlflow
import pandas as pd
from mlflow import MlflowClient

from sweep import liveness, plots, query, report, store, tables

EXIT_OK, EXIT_GAPS, EXIT_NO_DATA = 0, 1, 2


def write_tables(cells: pd.DataFrame, sweep_id: str, out: Path) -> List[Path]:
    """Write the Markdown tables, the per-cell CSV and the test-accuracy heatmap; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    md, csv, png = out / "accuracy.md", out / "accuracy.csv", out / "test_accuracy.png"
    md.write_text(tables.render(cells, sweep_id) + "\n")
    cells.drop(columns="start_time", errors="ignore").to_csv(csv, index=False)
    fig = plots.heatmap(tables.numeric_pivot(cells, "test_accuracy"), f"Test accuracy, sweep {sweep_id}")
    fig.savefig(png, dpi=120)
    plots.plt.close(fig)
    return [md, csv, png]


def write_full_report(cells: pd.DataFrame, sweep_id: str, out: Path) -> List[Path]:
    """The --report files: self-contained HTML, Markdown, CSVs and figures, with learning curves over seeds."""
    runs = tables.finished(cells)
    histories = query.histories(runs, ["accuracy", "val_accuracy"])
    return report.write(runs, histories, out, f"Sweep {sweep_id}")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sweep.compare",
        description=__doc__,
        epilog=(
            "exit codes: 0 every cell finished; 1 some cells failed or are missing (the table marks them); "
            "2 nothing to compare (no experiment, no sweep, unknown sweep id)"
        ),
    )
    parser.add_argument("--sweep", help="sweep id (default: the latest sweep in the experiment)")
    parser.add_argument("--experiment", default="sweep", help="MLflow experiment name (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: %(default)s)")
    parser.add_argument(
        "--report",
        action="store_true",
        help="also write report.html (self-contained), report.md and CSVs: CIs, ranking, effects, "
        "ANOVA, learning curves over seeds",
    )
    return parser.parse_args(argv)


class NothingToCompare(LookupError):
    """No store, experiment or sweep to compare; the message says which."""


def locate(args: argparse.Namespace):
    """The store URI, experiment id, sweep id and parent run (or None) that the arguments name."""
    uri = store.resolve_uri(Path.cwd())
    if store.sqlite_path(uri) is not None and not store.sqlite_path(uri).is_file():
        raise NothingToCompare(f"no MLflow store at {uri}; run python -m sweep.train first or set MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    store.check_reachable(uri)
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise NothingToCompare(
            f"--experiment: no experiment {args.experiment!r} in {uri}; run python -m sweep.train first"
        )
    experiment_id = experiment.experiment_id
    sweep_id = args.sweep or query.latest_sweep(client, experiment_id)
    if sweep_id is None:
        raise NothingToCompare(f"experiment {args.experiment!r} has no sweep runs yet ({uri})")
    parent = query.parent_run(client, experiment_id, sweep_id)
    return uri, experiment_id, sweep_id, parent


def main(argv: Optional[List[str]] = None) -> int:
    """Print the sweep's table, write its report files and log them to the sweep's parent run."""
    args = parse_args(argv)
    try:
        uri, experiment_id, sweep_id, parent = locate(args)
    except (store.StoreError, NothingToCompare) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_DATA
    for name in liveness.reap(uri, experiment_id):
        print(f"marked KILLED: {name} (left RUNNING by a process that died)")
    cells = query.cells(query.job_runs(experiment_id), sweep_id, query.planned_cells(parent))
    if cells.empty:
        print(f"error: --sweep: no sweep {sweep_id!r} in experiment {args.experiment!r} ({uri})", file=sys.stderr)
        return EXIT_NO_DATA
    print(tables.render(cells, sweep_id))
    files = write_tables(cells, sweep_id, args.out)
    if args.report:
        files += write_full_report(cells, sweep_id, args.out)
    if parent is not None:
        store.log_report(uri, parent.info.run_id, files)
    print(f"\nwrote {', '.join(str(f) for f in files)}")
    return EXIT_OK if (cells["status"] == "FINISHED").all() else EXIT_GAPS


if __name__ == "__main__":
    sys.exit(main())
