"""sweep's sweepers and tracking in Hydra apps that are not sweep.train (issue 28, items 2-5, 7, 8).

The apps are real: examples/hydra_app (scikit-learn on its bundled digits, no TensorFlow) and small tasks written
here; every run is a real CLI process with a real Optuna journal and, where tracking is on, a real SQLite store.
"""

import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest
from mlflow import MlflowClient
from omegaconf import OmegaConf
from optuna.trial import TrialState

from sweep.tracking import study

APP = Path(__file__).resolve().parents[1] / "examples" / "hydra_app" / "train.py"
FAST = ["epochs=8"]
SLOW = pytest.mark.slow


def run(cwd: Path, script, *args: str, env: dict = None, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**__import__("os").environ, **(env or {})},
    )
    return done


def task(tmp_path: Path, body: str, config: str = "", name: str = "task.py") -> Path:
    """A small Hydra app in tmp_path: `body` is main's body (cfg in scope); conf/config.yaml holds `config`."""
    (tmp_path / "conf").mkdir(exist_ok=True)
    (tmp_path / "conf" / "config.yaml").write_text(config or "x: 0.0\n")
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    (tmp_path / name).write_text(
        "import hydra\nfrom sweep import report\n\n"
        "@hydra.main(version_base=None, config_path='conf', config_name='config')\n"
        f"def main(cfg):\n{indented}\n\nif __name__ == '__main__':\n    main()\n"
    )
    return tmp_path / name


def trials(journal: Path) -> list:
    storage = study.open_storage(str(journal))
    (summary,) = optuna.get_all_study_summaries(storage)
    return optuna.load_study(study_name=summary.study_name, storage=storage).get_trials()


def error_lines(done: subprocess.CompletedProcess) -> list:
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    "launcher", ["basic", pytest.param("joblib", marks=SLOW), pytest.param("joblib_fused", marks=SLOW)]
)
def test_search_prunes_an_apps_trials_under_each_launcher(tmp_path, launcher):
    workers = [] if launcher == "basic" else ["hydra.launcher.n_jobs=2"]
    done = run(
        tmp_path,
        APP,
        "-m",
        f"hydra/launcher={launcher}",
        *workers,
        "alpha=tag(log,interval(1e-6,1.0))",
        "hydra.sweeper.pruner=median",
        "+hydra.sweeper.pruner_options.n_startup_trials=2",
        "hydra.sweeper.n_trials=10",
        "hydra.sweeper.seed=3",
        *FAST,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ended = trials(tmp_path / "mlruns" / "optuna.journal")
    states = [t.state for t in ended]
    assert len(ended) == 10 and TrialState.PRUNED in states and TrialState.COMPLETE in states, states
    for t in ended:
        if t.state == TrialState.PRUNED:  # stopped where sweep.report said so, before the last epoch
            assert t.user_attrs[study.ATTR_PRUNED_AT] == max(t.intermediate_values) < 8
        else:
            assert t.state == TrialState.COMPLETE and max(t.intermediate_values) == 8
            assert t.value == pytest.approx(t.intermediate_values[8])  # the returned val_accuracy
    (result,) = tmp_path.glob("multirun/*/*/optimization_results.yaml")
    best = max(t.value for t in ended if t.state == TrialState.COMPLETE)
    assert OmegaConf.load(result).best_value == pytest.approx(best)
    assert "pruned" in done.stdout and "Traceback" not in done.stderr


@pytest.mark.slow
def test_race_over_an_apps_seed_key_minimizing_writes_rounds_and_verdict_and_tracks(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    done = run(
        tmp_path,
        APP,
        "-m",
        "hydra/sweeper=race",
        "hydra/callbacks=mlflow",
        "alpha=0.0001,0.5",
        "hydra.sweeper.metric=val_error",
        "hydra.sweeper.direction=minimize",
        "hydra.sweeper.max_seeds=5",
        *FAST,
        env={"MLFLOW_TRACKING_URI": uri},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = tmp_path.glob("multirun/*/*/race")
    rounds = pd.read_csv(folder / "rounds.csv")
    last = rounds.groupby("cell").last()
    assert last.loc["alpha=0.5", "state"] == "eliminated" and last.loc["alpha=0.0001", "state"] == "best"
    assert 0 < last.loc["alpha=0.0001", "mean"] < last.loc["alpha=0.5", "mean"] < 1  # errors, in their own sign
    jobs = pd.read_csv(folder / "jobs.csv")
    assert set(jobs.seed) <= set(range(5)) and jobs.value.between(0, 1).all()
    verdict = (folder / "verdict.md").read_text()
    assert "best: alpha=0.0001" in verdict and "| alpha=0.5 | eliminated |" in verdict
    client = MlflowClient(uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "train"]
    runs = client.search_runs([experiment.experiment_id], max_results=200)
    (parent,) = [r for r in runs if r.data.tags.get("sweep_role") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED" and len(children) == len(jobs) == len(runs) - 1
    assert {r.info.status for r in children} == {"FINISHED"}
    assert {r.data.params["alpha"] for r in children} == {"0.0001", "0.5"} and "seed" in children[0].data.params
    assert all("val_error" in r.data.metrics for r in children)
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "race")} >= {"race/verdict.md", "race/rounds.csv"}


@pytest.mark.slow
def test_an_app_written_for_hydras_optuna_sweeper_switches_by_one_line(tmp_path):
    """Hydra's Optuna sweeper's own example (sphere), its config as that plugin's docs give it, searched by ours."""
    config = """
defaults:
  - override hydra/sweeper: search   # the one line: was optuna
x: 1
y: 1
z: 1
hydra:
  sweeper:
    sampler:
      seed: 123
    direction: minimize
    study_name: sphere
    storage: null
    n_trials: 20
    n_jobs: 1
    params:
      x: range(-5.5, 5.5, step=0.5)
      y: choice(-5 ,0 ,5)
    custom_search_space: task.more
"""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text(config)
    (tmp_path / "task.py").write_text(
        "import hydra\n\n"
        "def more(cfg, trial):\n"
        "    trial.suggest_float('z', -1.0, 1.0)\n\n"
        "@hydra.main(version_base=None, config_path='conf', config_name='config')\n"
        "def main(cfg):\n"
        "    return cfg.x ** 2 + cfg.y ** 2 + cfg.z ** 2\n\n"
        "if __name__ == '__main__':\n    main()\n"
    )
    done = run(tmp_path, tmp_path / "task.py", "-m", env={"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    ended = trials(tmp_path / "mlruns" / "optuna.journal")
    assert len(ended) == 20 and all(t.state == TrialState.COMPLETE for t in ended)
    for t in ended:  # the task saw exactly what the study drew, the custom space's z too
        assert t.value == pytest.approx(t.params["x"] ** 2 + t.params["y"] ** 2 + t.params["z"] ** 2)
        assert t.params["y"] in (-5, 0, 5) and -5.5 <= t.params["x"] <= 5.5 and -1 <= t.params["z"] <= 1
    (result,) = tmp_path.glob("multirun/*/*/optimization_results.yaml")
    saved = OmegaConf.load(result)
    assert saved.best_value == pytest.approx(min(t.value for t in ended)) and saved.best_value < 10
    assert set(saved.best_params) == {"x", "y", "z"}


@pytest.mark.slow
def test_several_objectives_from_a_sequence_and_tracking_under_hydras_basic_sweeper(tmp_path):
    # under the basic launcher the task runs in the sweeper's own process: neither imported TensorFlow
    body = "import sys\nassert 'tensorflow' not in sys.modules\nreturn [cfg.x, -cfg.x ** 2]"
    script = task(tmp_path, body, "x: 0.0\n")
    done = run(
        tmp_path,
        script,
        "-m",
        "hydra/sweeper=search",
        "x=interval(-1,1)",
        "hydra.sweeper.direction=[minimize,maximize]",
        "hydra.sweeper.n_trials=6",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (result,) = tmp_path.glob("multirun/*/*/optimization_results.yaml")
    front = OmegaConf.load(result).solutions
    assert front and all(s["values"][1] == pytest.approx(-(s["values"][0] ** 2)) for s in front)
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    done = run(tmp_path, script, "-m", "hydra/callbacks=mlflow", "x=0.5,0.25", env={"MLFLOW_TRACKING_URI": uri})
    assert done.returncode == 0, done.stderr[-3000:]
    runs = MlflowClient(uri).search_runs([MlflowClient(uri).get_experiment_by_name("task").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("sweep_role") == "parent"]
    children = sorted((r for r in runs if r is not parent), key=lambda r: r.data.params["x"])
    assert parent.info.status == "FINISHED" and [r.data.params["x"] for r in children] == ["0.25", "0.5"]
    assert [r.data.metrics["value_1"] for r in children] == [-0.0625, -0.25]


@pytest.mark.slow
def test_failed_trials_within_max_failure_rate_let_the_search_finish_and_are_said(tmp_path):
    body = "if cfg.x > 0.5:\n    raise RuntimeError('x is too large')\nreturn cfg.x"
    script = task(tmp_path, body, "x: 0.0\n")
    args = ["hydra/sweeper=search", "x=interval(0,1)", "hydra.sweeper.n_trials=8", "hydra.sweeper.seed=0"]
    done = run(tmp_path, script, "-m", *args, "hydra.sweeper.max_failure_rate=1.0")
    ended = trials(tmp_path / "mlruns" / "optuna.journal")
    failed = [t for t in ended if t.state == TrialState.FAIL]
    assert len(ended) == 8 and failed and all(t.params["x"] > 0.5 for t in failed)
    assert all("RuntimeError: x is too large" in t.user_attrs["sweep.failure"] for t in failed)
    assert done.returncode == 1 and f"{len(failed)} of 8 trials failed" in done.stderr  # said, and not a success


BAD = [
    ("return None", ["+x=interval(0,1)"], "the task's return value is None (NoneType), not a number"),
    ("return {'loss': 1.0}", ["+x=interval(0,1)", "hydra.sweeper.metric=accuracy"], "hydra.sweeper.metric=accuracy"),
    ("return 'high'", ["+x=interval(0,1)"], "the task's return value is 'high' (str)"),
    ("return 1.0", ["+x=interval(0,1)", "hydra.sweeper.storage=task.py/study.journal"], "hydra.sweeper.storage"),
    ("return 1.0", ["+x=interval(0,1)", "+hydra.sweeper.sampler._target_=no.such.Sampler"], "sampler._target_"),
    ("return 1.0", ["hydra/sweeper=race", "x=1,2", "hydra.sweeper.seed_key=rng"], "hydra.sweeper.seed_key=rng"),
    ("return None", ["hydra/sweeper=race", "x=1,2", "seed=0"], "seed: the race runs the seeds itself"),
    ("return {'a': 1.0}", ["hydra/sweeper=race", "x=1,2"], "hydra.sweeper.metric=val_accuracy: the task's result"),
]


@pytest.mark.parametrize(
    "body, args, says",
    [pytest.param(*b, marks=() if i in (0, 5) else SLOW) for i, b in enumerate(BAD)],
    ids=[b[2][:30] for b in BAD],
)
def test_bad_input_in_an_app_is_one_line_exit_2_and_nothing_created(tmp_path, body, args, says):
    script = task(tmp_path, body, "x: 0\nseed: 0\n" if "race" in args[0] else "{}\n")
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    sweeper = [] if "race" in args[0] else ["hydra/sweeper=search", "hydra.sweeper.n_trials=3"]
    done = run(tmp_path, script, "-m", *sweeper, "hydra/callbacks=mlflow", *args, env={"MLFLOW_TRACKING_URI": uri})
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-3000:]
    (line,) = error_lines(done)
    assert says in line and "Traceback" not in done.stderr, line
    assert not (tmp_path / "mlruns" / "optuna.journal").exists()  # no study
    if (tmp_path / "store.db").exists():  # tracking began (a task's result is known only once it ran): taken back
        client = MlflowClient(uri)
        live = client.search_runs([e.experiment_id for e in client.search_experiments()])
        assert live == []


def test_report_outside_a_search_does_nothing_and_imports_nothing(tmp_path):
    from sweep.config import app_kind
    from sweep.tracking import store

    # the names written twice so that `sweep.report` and the study need no MLflow: the same in both places
    assert app_kind.ENV_TRIAL == study.ENV_TRIAL and study.TAG_PRUNED == store.TAG_PRUNED
    code = "import sys, sweep; assert not sweep.report(1, 0.5); print(sorted({'optuna', 'mlflow'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
