"""`python -m sweep.compare`: query a sweep's runs from MLflow and build the study's reg x act table."""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from sweep.analysis import outputs, query, tables
from sweep.analysis.locate import NothingToCompare, locate
from sweep.tracking import access, liveness, retries, secrets, store

EXIT_OK, EXIT_GAPS, EXIT_NO_DATA = 0, 1, 2


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


def main(argv: Optional[List[str]] = None) -> int:
    """Print the sweep's table, write its report files and log them to the sweep's parent run."""
    args = parse_args(argv)
    retries.apply_defaults()
    try:
        uri, experiment_id, sweep_id, parent = locate(args)
        writable = access.may_write(uri, experiment_id)
    except (store.StoreError, NothingToCompare) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_DATA
    if not writable:
        print(
            f"note: read-only access to experiment {args.experiment!r}: the report is not logged to the sweep's "
            "parent run, and runs left RUNNING by processes that died are not marked KILLED"
        )
    for name in liveness.reap(uri, experiment_id) if writable else []:
        print(f"marked KILLED: {name} (left RUNNING by a process that died)")
    cells = query.cells(query.job_runs(experiment_id), sweep_id, query.planned_cells(parent))
    if cells.empty:
        where = secrets.display_uri(uri)
        print(f"error: --sweep: no sweep {sweep_id!r} in experiment {args.experiment!r} ({where})", file=sys.stderr)
        return EXIT_NO_DATA
    print(tables.render(cells, sweep_id))
    files = outputs.write_tables(cells, sweep_id, args.out)
    if args.report:
        files += outputs.write_full_report(cells, sweep_id, args.out)
    if parent is not None and writable:
        store.log_report(uri, parent.info.run_id, files)
    print(f"\nwrote {', '.join(str(f) for f in files)}")
    return EXIT_OK if (cells["status"] == "FINISHED").all() else EXIT_GAPS


if __name__ == "__main__":
    sys.exit(main())
