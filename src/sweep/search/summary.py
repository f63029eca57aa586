"""The search's answer: its best trial (or Pareto front), the trial counts, printed and logged on the parent."""

from pathlib import Path
from typing import Any, Dict, List, Optional

import optuna
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial, TrialState

from sweep.search.plan import SearchPlan
from sweep.tracking import study, trial_runs


def _entry(trial: FrozenTrial, metrics: List[str]) -> Dict[str, Any]:
    values = dict(zip(metrics, trial.values, strict=True))
    return {
        "number": trial.number,
        "params": trial.params,
        "values": values,
        "run_id": trial.user_attrs.get(study.ATTR_RUN_ID),
    }


def answer(opened: optuna.Study, plan: SearchPlan) -> Dict[str, Any]:
    """The best trial (one objective) or the Pareto front (several), with every state's count."""
    trials = opened.get_trials(deepcopy=False)
    counts = {
        s.name: sum(1 for t in trials if t.state == s)
        for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    best = [] if not done else [opened.best_trial] if len(plan.objective.metrics) == 1 else opened.best_trials
    return {
        "study": opened.study_name,
        "storage": study.safe_storage(plan.storage),
        "metrics": plan.objective.metrics,
        "directions": plan.objective.directions,
        "counts": counts,
        "trials": [_entry(t, plan.objective.metrics) for t in best],
    }


def _described(top: Dict[str, Any], uri: str) -> str:
    run = trial_runs.trial_run(uri, top["run_id"])
    test = run.data.metrics.get("test_accuracy") if run else None
    values = " ".join(f"{m}={v:.4f}" for m, v in top["values"].items())
    reported = f" (test_accuracy={test:.4f}: reported, never optimized)" if test is not None else ""
    params = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in top["params"].items())
    return f"{values}{reported}; {params}"


def lines(best: Dict[str, Any], uri: str, launched: int, utilization: Optional[float]) -> List[str]:
    """What the search prints at its end."""
    counts = best["counts"]
    ended = ", ".join(f"{n} {state.lower()}" for state, n in counts.items())
    busy = f", slots busy {utilization:.0%} of the time" if utilization is not None else ""
    out = [f"study {best['study']}: {sum(counts.values())} trials ended ({ended}), {launched} launched now{busy}"]
    label = "best trial" if len(best["metrics"]) == 1 else "on the Pareto front: trial"
    out += [f"{label} {top['number']}: {_described(top, uri)}" for top in best["trials"]] or ["no trial completed"]
    return out + [f"study storage {best['storage']} (browse: optuna-dashboard {best['storage']})"]


def save(best: Dict[str, Any], sweep_dir: Path) -> None:
    """optimization_results.yaml in the sweep folder, as Hydra's Optuna sweeper writes it."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if len(best["metrics"]) == 1:
        top = best["trials"][0] if best["trials"] else None
        result = {
            "name": "search",
            "best_params": top["params"] if top else {},
            "best_value": list(top["values"].values())[0] if top else None,
        }
    else:
        result = {
            "name": "search",
            "solutions": [{"params": t["params"], "values": list(t["values"].values())} for t in best["trials"]],
        }
    OmegaConf.save(OmegaConf.create(result), sweep_dir / "optimization_results.yaml")
