"""`python -m sweep.compare`: query a sweep's runs from MLflow and build the study's reg x act table."""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

import mlflow
import pandas as pd
from mlflow import MlflowClient

from sweep import plots, store

REG_ORDER = ["none", "dropout", "batchnorm", "l1", "l2", "dropout_batchnorm", "batchnorm_l2", "batchnorm_l1"]
ACT_ORDER = ["relu", "leaky_relu", "tanh", "sigmoid"]
EXIT_OK, EXIT_GAPS, EXIT_NO_DATA = 0, 1, 2


def latest_sweep(client: MlflowClient, experiment_id: str) -> Optional[str]:
    """The sweep id of the most recently started run of the experiment."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{store.TAG_SWEEP} != ''",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].data.tags[store.TAG_SWEEP] if runs else None


def job_runs(experiment_id: str, sweep_id: str) -> pd.DataFrame:
    """Every job run of the sweep, one row each, newest first."""
    return mlflow.search_runs(
        [experiment_id],
        order_by=["attributes.start_time DESC"],
        max_results=50000,
        filter_string=f"tags.{store.TAG_SWEEP} = '{sweep_id}' and tags.{store.TAG_ROLE} = 'job'",
    )


def parent_run(client: MlflowClient, experiment_id: str, sweep_id: str):
    """The sweep's parent run, or None for a single job."""
    found = client.search_runs(
        [experiment_id],
        max_results=1,
        filter_string=(f"tags.{store.TAG_SWEEP} = '{sweep_id}' and tags.{store.TAG_ROLE} = 'parent'"),
    )
    return found[0] if found else None


def planned_cells(client: MlflowClient, parent) -> List[str]:
    """The cells the multirun planned, as logged on its parent run."""
    if parent is None:
        return []
    try:
        return mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/sweep/planned_cells.json")["cells"]
    except Exception:  # noqa: BLE001 - a parent without a plan (another sweeper) just has no planned cells
        return []


def cells_table(runs: pd.DataFrame, planned: List[str]) -> pd.DataFrame:
    """One row per cell: its latest FINISHED run, else its latest run; planned cells without runs as missing."""
    if runs.empty:
        runs = pd.DataFrame(
            columns=[
                "tags.cell",
                "status",
                "params.reg",
                "params.act",
                "run_id",
                "metrics.train_accuracy",
                "metrics.test_accuracy",
            ]
        )
    runs = runs.assign(_done=runs["status"].eq("FINISHED")).sort_values("_done", ascending=False, kind="stable")
    cells = runs.drop_duplicates("tags.cell").rename(
        columns={
            "tags.cell": "cell",
            "params.reg": "reg",
            "params.act": "act",
            "metrics.train_accuracy": "train_accuracy",
            "metrics.test_accuracy": "test_accuracy",
        }
    )
    cells = cells[["cell", "reg", "act", "status", "train_accuracy", "test_accuracy", "run_id"]]
    missing = [c for c in planned if c not in set(cells["cell"])]
    gaps = pd.DataFrame(
        {
            "cell": missing,
            "status": "MISSING",
            "reg": [_part(c, "reg") for c in missing],
            "act": [_part(c, "act") for c in missing],
        }
    )
    return pd.concat([cells, gaps], ignore_index=True) if missing else cells.reset_index(drop=True)


def _part(cell: str, key: str) -> str:
    return dict(p.split("=", 1) for p in cell.split())[key]


def _order(values, preferred: List[str]) -> List[str]:
    return [v for v in preferred if v in set(values)] + sorted(set(values) - set(preferred))


def pivot(cells: pd.DataFrame, metric: str) -> pd.DataFrame:
    """reg x act text table of a metric (mean over a cell's finished runs); gaps show their status."""

    def text(group: pd.DataFrame) -> str:
        done = group[group["status"] == "FINISHED"][metric].dropna()
        if len(done) == len(group):
            return f"{done.mean():.4f}" + (f" (n={len(done)})" if len(done) > 1 else "")
        return ", ".join(sorted(set(group.loc[group["status"] != "FINISHED", "status"])))

    table = cells.groupby(["reg", "act"]).apply(text, include_groups=False).unstack("act")
    table = table.reindex(index=_order(cells["reg"], REG_ORDER), columns=_order(cells["act"], ACT_ORDER))
    return table.fillna("—").rename_axis(index="reg", columns="act")


def numeric_pivot(cells: pd.DataFrame, metric: str) -> pd.DataFrame:
    """reg x act mean of a metric over finished runs; NaN where a cell has none."""
    done = cells[cells["status"] == "FINISHED"].astype({metric: float})
    table = done.pivot_table(index="reg", columns="act", values=metric, aggfunc="mean")
    return table.reindex(index=_order(cells["reg"], REG_ORDER), columns=_order(cells["act"], ACT_ORDER))


def write_report(cells: pd.DataFrame, sweep_id: str, out: Path) -> List[Path]:
    """Write the Markdown tables, the per-cell CSV and the test-accuracy heatmap; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    md, csv, png = out / "accuracy.md", out / "accuracy.csv", out / "test_accuracy.png"
    md.write_text(render(cells, sweep_id) + "\n")
    cells.to_csv(csv, index=False)
    fig = plots.heatmap(numeric_pivot(cells, "test_accuracy"), f"Test accuracy, sweep {sweep_id}")
    fig.savefig(png, dpi=120)
    plots.plt.close(fig)
    return [md, csv, png]


def render(cells: pd.DataFrame, sweep_id: str) -> str:
    """The two study tables (test, train accuracy) and a list of the cells that did not finish."""
    done = int((cells["status"] == "FINISHED").sum())
    parts = [f"# Sweep {sweep_id}: {done} of {len(cells)} cells finished", ""]
    for metric in ("test_accuracy", "train_accuracy"):
        parts += [
            f"## {metric.replace('_', ' ').capitalize()} (rows: reg, columns: act)",
            "",
            pivot(cells, metric).to_markdown(disable_numparse=True),
            "",
        ]
    gaps = cells[cells["status"] != "FINISHED"]
    if not gaps.empty:
        parts += ["## Cells without a finished run", ""]
        parts += [f"- {row.cell}: {row.status}" for row in gaps.itertuples()]
    return "\n".join(parts).rstrip()


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
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Print the sweep's table, write its report files and log them to the sweep's parent run."""
    args = parse_args(argv)
    uri = store.resolve_uri(Path.cwd())
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
        print(
            f"error: no MLflow store at {uri}; run python -m sweep.train first or set MLFLOW_TRACKING_URI",
            file=sys.stderr,
        )
        return EXIT_NO_DATA
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        print(
            f"error: --experiment: no experiment {args.experiment!r} in {uri}; run python -m sweep.train first",
            file=sys.stderr,
        )
        return EXIT_NO_DATA
    sweep_id = args.sweep or latest_sweep(client, experiment.experiment_id)
    parent = parent_run(client, experiment.experiment_id, sweep_id) if sweep_id else None
    runs = job_runs(experiment.experiment_id, sweep_id) if sweep_id else pd.DataFrame()
    if runs.empty and parent is None:
        print(
            f"error: --sweep: no sweep {sweep_id!r} in experiment {args.experiment!r} ({uri})"
            if sweep_id
            else f"error: experiment {args.experiment!r} has no sweep runs yet ({uri})",
            file=sys.stderr,
        )
        return EXIT_NO_DATA
    cells = cells_table(runs, planned_cells(client, parent))
    print(render(cells, sweep_id))
    files = write_report(cells, sweep_id, args.out)
    if parent is not None:
        store.log_report(uri, parent.info.run_id, files)
    print(f"\nwrote {', '.join(str(f) for f in files)}")
    return EXIT_OK if (cells["status"] == "FINISHED").all() else EXIT_GAPS


if __name__ == "__main__":
    sys.exit(main())
