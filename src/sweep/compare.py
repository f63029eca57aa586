"""`python -m sweep.compare`: query a sweep's runs from MLflow and build the study's reg x act table."""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from sweep.analysis import outputs, query, search_report, search_view, tables
from sweep.analysis.locate import NothingToCompare, locate
from sweep.tracking import liveness, store

EXIT_OK, EXIT_GAPS, EXIT_NO_DATA = 0, 1, 2


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sweep.compare",
        description=__doc__,
        epilog=(
            "exit codes: 0 every cell finished; 1 some cells (or a search's trials) failed or are missing; "
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
    if search_view.is_search(parent):
        return compare_search(uri, experiment_id, sweep_id, parent, args)
    cells = query.cells(query.job_runs(experiment_id), sweep_id, query.planned_cells(parent))
    if cells.empty:
        print(f"error: --sweep: no sweep {sweep_id!r} in experiment {args.experiment!r} ({uri})", file=sys.stderr)
        return EXIT_NO_DATA
    print(tables.render(cells, sweep_id))
    files = outputs.write_tables(cells, sweep_id, args.out)
    if args.report:
        files += outputs.write_full_report(cells, sweep_id, args.out)
    if parent is not None:
        store.log_report(uri, parent.info.run_id, files)
    print(f"\nwrote {', '.join(str(f) for f in files)}")
    return EXIT_OK if (cells["status"] == "FINISHED").all() else EXIT_GAPS


def compare_search(uri: str, experiment_id: str, sweep_id: str, parent, args: argparse.Namespace) -> int:
    """A searched sweep: every trial of its study ranked by the objective; pruned and failed ones apart."""
    search = search_view.described(parent)
    table = search_view.trials(experiment_id, search)
    title = f"Search {search['study']} (sweep {sweep_id})"
    files = search_report.write(table, search, args.out, title, args.report)
    print(search_report.text(table, search, title))
    store.log_report(uri, parent.info.run_id, files)
    print(f"\nwrote {', '.join(str(f) for f in files)}")
    return EXIT_GAPS if search_view.counts(table)["FAILED"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
