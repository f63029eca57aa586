"""`python -m sweep.compare`: query a sweep's runs from MLflow and build its tables over the swept keys."""

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import List, Optional

from sweep.analysis import design, outputs, query, race_view, render, search_report, search_view, tables
from sweep.analysis.locate import NothingToCompare, locate
from sweep.tracking import access, liveness, retries, secrets, store

EXIT_OK, EXIT_GAPS, EXIT_NO_DATA = 0, 1, 2


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sweep.compare",
        description="Read a sweep's runs back from MLflow: print its tables, write reports/, log them to the sweep.",
        epilog=(
            "exit codes: 0 every cell finished; 1 some cells (or a search's trials) failed or are missing; "
            "2 nothing to compare (no experiment, no sweep, unknown sweep id, a --rows/--cols key not swept)"
        ),
    )
    parser.add_argument("--sweep", help="sweep id (default: the latest sweep in the experiment)")
    parser.add_argument("--experiment", default="sweep", help="MLflow experiment name (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: %(default)s)")
    parser.add_argument("--rows", metavar="KEY", help="the table's rows: a swept key (default: reg, else the first)")
    parser.add_argument("--cols", metavar="KEY", help="the table's columns: a swept key (default: act, else the next)")
    parser.add_argument(
        "--report",
        action="store_true",
        help="also write report.html (self-contained), report.md and CSVs (cells.csv: one row per cell): CIs, "
        "ranking, effects, ANOVA, learning curves over seeds",
    )
    return parser.parse_args(argv)


def _pivot_problem(args: argparse.Namespace, factors: List[str]) -> Optional[str]:
    allowed = list(dict.fromkeys([*factors, "reg", "act"]))
    for flag, key in (("--rows", args.rows), ("--cols", args.cols)):
        if key is not None and key not in allowed:
            return f"{flag}: {key!r} is not a swept key of this sweep; allowed: {', '.join(allowed)}"
    if args.rows is not None and args.rows == args.cols:
        return f"--cols: {args.cols!r} is already the rows"
    return None


def main(argv: Optional[List[str]] = None) -> int:
    """Print the sweep's tables, write its report files and log them to the sweep's parent run."""
    args = parse_args(argv)
    retries.apply_defaults()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # reading the parent's plan: no bars
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
    if search_view.is_search(parent):
        return compare_search(uri, experiment_id, sweep_id, parent, args, writable)
    jobs, planned, recorded = query.job_runs(experiment_id), query.planned_cells(parent), query.recorded_design(parent)
    runs, found = design.build(jobs, sweep_id, planned, recorded)
    if runs.empty:
        where = secrets.display_uri(uri)
        print(f"error: --sweep: no sweep {sweep_id!r} in experiment {args.experiment!r} ({where})", file=sys.stderr)
        return EXIT_NO_DATA
    problem = _pivot_problem(args, found.factors)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_NO_DATA
    found = dataclasses.replace(found, **design.view(found.factors, args.rows, args.cols))
    race = race_view.blocks(parent) if race_view.is_race(parent) else []
    print(tables.render(runs, found, sweep_id) + (f"\n\n{render.body(race)}" if race else ""))
    files = outputs.write_tables(runs, found, sweep_id, args.out) + ([race_view.write(race, args.out)] if race else [])
    if args.report:
        files += outputs.write_full_report(runs, found, sweep_id, args.out, lead=race)
    if parent is not None and writable:
        store.log_report(uri, parent.info.run_id, files)
    print(f"\nwrote {', '.join(str(f) for f in files)}")
    return EXIT_OK if (runs["status"] == "FINISHED").all() else EXIT_GAPS


def compare_search(
    uri: str, experiment_id: str, sweep_id: str, parent, args: argparse.Namespace, writable: bool
) -> int:
    """A searched sweep: every trial of its study ranked by the objective; pruned and failed ones apart."""
    search = search_view.described(parent)
    table = search_view.trials(experiment_id, search)
    title = f"Search {search['study']} (sweep {sweep_id})"
    files = search_report.write(table, search, args.out, title, args.report)
    print(search_report.text(table, search, title))
    if writable:
        store.log_report(uri, parent.info.run_id, files)
    print(f"\nwrote {', '.join(str(f) for f in files)}")
    return EXIT_GAPS if search_view.counts(table)["FAILED"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
