"""compare on a searched sweep: the ranked trials as text and files, and --report's figures (Optuna's own plots)."""

import io
import json
import warnings
from pathlib import Path
from typing import Any, Dict, List

import optuna
import pandas as pd
from optuna.distributions import json_to_distribution
from optuna.trial import TrialState

from sweep.analysis import figures, render, search_view

NOTE = (
    "Ranked by the objective on the validation split; test accuracy is reported beside it and was never optimized. "
    "Pruned trials stopped early: they are listed apart, never ranked with full-length trials."
)


def _shown(table: pd.DataFrame, columns: List[str]) -> pd.DataFrame:
    out = table[columns].copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(lambda v: "—" if pd.isna(v) else f"{v:.4g}")
    return out


def blocks(table: pd.DataFrame, search: Dict[str, Any]) -> List[render.Block]:
    """Counts, the best trial, the ranked complete trials, the pruned ones, the failed or killed ones."""
    ranked, metrics, keys = search_view.ranked(table, search), search["metrics"], list(search["distributions"])
    counts = ", ".join(f"{n} {state.lower()}" for state, n in search_view.counts(table).items())
    out: List[render.Block] = [("p", f"Study {search['study']}: {len(table)} trials ({counts}).")]
    done = ranked[ranked["state"] == "COMPLETE"]
    for row in done[done["pareto"]].to_dict("records"):
        values = ", ".join(f"{m}={row[m]:.4f}" for m in metrics)
        params = " ".join(f"{k}={row[k]:.4g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in keys)
        label = "Best trial" if len(metrics) == 1 else "On the Pareto front: trial"
        out.append(("p", f"{label} {row['trial']}: {values} (test accuracy {row['test_accuracy']:.4f}); {params}"))
    out += [("h2", f"Complete trials, ranked by {metrics[0]}"), ("p", NOTE)]
    front = ["pareto"] if len(metrics) > 1 else []  # several objectives: which trials no other beats on all
    shown = done.astype({"rank": int}).assign(pareto=done["pareto"].map({True: "★", False: ""}))
    out.append(("table", _shown(shown, ["rank", "trial", *front, *metrics, "test_accuracy", *keys])))
    pruned = ranked[ranked["state"] == "PRUNED"].astype({"pruned_at_epoch": int})
    if not pruned.empty:
        shown = _shown(pruned, ["trial", "pruned_at_epoch", metrics[0], *keys])
        out += [("h2", f"Pruned trials (not ranked; {metrics[0]} at the epoch they stopped)"), ("table", shown)]
    gaps = ranked[~ranked["state"].isin(["COMPLETE", "PRUNED"])]
    if not gaps.empty:
        out += [("h2", "Failed or killed trials"), ("table", _shown(gaps, ["trial", "state", "reason", *keys]))]
    return out


def rebuilt(table: pd.DataFrame, search: Dict[str, Any]) -> optuna.Study:
    """The study again, in memory, from MLflow alone: the same trials, values and distributions."""
    distributions = {k: json_to_distribution(json.dumps(v)) for k, v in search["distributions"].items()}
    states = {"COMPLETE": TrialState.COMPLETE, "PRUNED": TrialState.PRUNED}
    again = optuna.create_study(directions=search["directions"])
    for row in table.to_dict("records"):
        params = {k: row[k] for k in distributions if row[k] is not None}
        state = states.get(row["state"], TrialState.FAIL)
        values = [row[m] for m in search["metrics"]] if state == TrialState.COMPLETE else None
        own = {k: d for k, d in distributions.items() if k in params}
        again.add_trial(optuna.trial.create_trial(params=params, distributions=own, values=values, state=state))
    return again


def _png(ax: Any) -> bytes:
    fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
    fig.set_size_inches(9, 5)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    figures.plt.close(fig)
    return buf.getvalue()


def plots(table: pd.DataFrame, search: Dict[str, Any]) -> List[render.Block]:
    """Optimization history, parameter importances, parallel coordinates (and the Pareto front for several)."""
    from optuna.visualization import matplotlib as plot

    again, metric = rebuilt(table, search), search["metrics"][0]
    one = {"target": None if len(search["metrics"]) == 1 else (lambda t: t.values[0]), "target_name": metric}
    wanted = [
        ("Optimization history", "report_history.png", lambda: plot.plot_optimization_history(again, **one)),
        ("Parameter importances (fANOVA)", "report_importances.png", lambda: plot.plot_param_importances(again, **one)),
        ("Parallel coordinates", "report_parallel.png", lambda: plot.plot_parallel_coordinate(again, **one)),
    ]
    if len(search["metrics"]) in (2, 3):
        front = lambda: plot.plot_pareto_front(again, target_names=search["metrics"])  # noqa: E731
        wanted.append(("Pareto front", "report_pareto.png", front))
    out: List[render.Block] = []
    for title, name, draw in wanted:
        out.append(("h2", title))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's matplotlib plots are "experimental"
                out.append(("img", (name, _png(draw()))))
        except (ValueError, RuntimeError) as exc:  # e.g. importances need two complete trials
            out.append(("p", f"Not drawn: {exc}"))
    return out


def text(table: pd.DataFrame, search: Dict[str, Any], title: str) -> str:
    """The ranked trials as Markdown (what compare prints and writes to trials.md)."""
    return render.markdown(title, blocks(table, search)).rstrip()


def write(table: pd.DataFrame, search: Dict[str, Any], out: Path, title: str, full: bool) -> List[Path]:
    """trials.md and trials.csv; with `full`, report.html (self-contained), report.md and the figures' PNGs."""
    out.mkdir(parents=True, exist_ok=True)
    content = blocks(table, search)
    files = [out / "trials.md", out / "trials.csv"]
    files[0].write_text(render.markdown(title, content), encoding="utf-8")
    search_view.ranked(table, search).to_csv(files[1], index=False)
    if full:
        content += plots(table, search)
        files += [out / "report.html", out / "report.md"]
        files[2].write_text(render.to_html(title, content), encoding="utf-8")
        files[3].write_text(render.markdown(title, content), encoding="utf-8")
        for kind, value in content:
            if kind == "img":
                files.append(out / value[0])
                files[-1].write_bytes(value[1])
    return files
