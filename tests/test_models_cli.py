"""Real commands with the model group: a cnn sweep, a user's builder from --config-dir, bad builders refused."""

import shutil
from pathlib import Path

import pytest

from tests.helpers import all_runs, by_role, run_module

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "models"


def small(fashion_small):
    return ["data=fashion_mnist", f"data.path={fashion_small}", "train.epochs=1"]


@pytest.mark.slow
def test_a_cnn_sweep_gives_a_finished_run_per_cell_with_the_model_params(tmp_path, fashion_small):
    cmd = ["-m", "model=cnn", "act=relu,tanh", "reg=none,dropout", *small(fashion_small)]  # as the issue runs it
    done = run_module("sweep.train", *cmd, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = by_role(all_runs(), "job")
    assert sorted(r.data.params["act"] + "/" + r.data.params["reg"] for r in jobs) == [
        "relu/dropout",
        "relu/none",
        "tanh/dropout",
        "tanh/none",
    ]
    assert {r.info.status for r in jobs} == {"FINISHED"}
    assert {r.data.params["model"] for r in jobs} == {"cnn"}
    assert {(r.data.params["speed.loop"], r.data.tags["sweep.loop"]) for r in jobs} == {("in_graph", "keras")}
    assert len({r.data.params["model_params"] for r in jobs}) == 1 and int(jobs[0].data.params["model_params"]) > 0
    why = "[sweep] model=cnn trains with Keras' fit, unfused: the fused in-graph loop handles the MLP family only"
    assert done.stdout.count(why) == 4  # one line per cell, none silently different


@pytest.mark.slow
def test_a_users_builder_from_the_config_dir_trains_in_the_sweeps_workers(tmp_path, fashion_small):
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)  # mymodels.py beside the command, model/mine.yaml
    cmd = ["-m", "--config-dir", str(tmp_path), "model=mine", "model.width=8,16", *small(fashion_small)]
    done = run_module("sweep.train", *cmd, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = by_role(all_runs(), "job")
    assert {r.info.status for r in jobs} == {"FINISHED"}
    assert sorted((r.data.params["model"], r.data.params["model.width"]) for r in jobs) == [
        ("mine", "16"),
        ("mine", "8"),
    ]
    assert sorted(r.info.run_name for r in jobs) == [
        "reg=none act=relu model.width=16",
        "reg=none act=relu model.width=8",
    ]
    assert all(int(r.data.params["model_params"]) > 0 and r.data.metrics["test_accuracy"] > 0.1 for r in jobs)


BUILDERS = """
import keras


def raises(input_shape, n_classes):
    raise ValueError("widths must be even")


def not_a_model(input_shape, n_classes):
    return "a net"


def _dense(input_shape, units, activation):
    dense = keras.layers.Dense(units, activation=activation)
    return keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten(), dense])


def wrong_shape(input_shape, n_classes):
    return _dense(input_shape, n_classes + 1, "softmax")


def no_softmax(input_shape, n_classes):
    return _dense(input_shape, n_classes, None)


def fine(input_shape, n_classes, depth=1):
    return _dense(input_shape, n_classes, "softmax")
"""

BAD = [
    (
        {"_target_": "nosuch.build"},
        [],
        "error: model._target_=nosuch.build: nosuch does not import: ModuleNotFoundError",
    ),
    ({"_target_": "bad.missing"}, [], "error: model._target_=bad.missing: bad has no function missing"),
    ({}, [], "error: model._target_ missing: model=mine is not built in (mlp, cnn), so its option file must name"),
    ({"_target_": "bad.raises"}, [], "error: model=mine: bad.raises raised ValueError: widths must be even"),
    ({"_target_": "bad.not_a_model"}, [], "error: model=mine: bad.not_a_model returned str, not a keras.Model"),
    ({"_target_": "bad.wrong_shape"}, [], "error: model=mine: bad.wrong_shape's output has shape (None, 11), not"),
    ({"_target_": "bad.no_softmax"}, [], "error: model=mine: bad.no_softmax's output is not a probability vector"),
    ({"_target_": "bad.fine", "width": 3}, [], "error: model.width: model=mine has the key width, which bad.fine"),
    (
        {"_target_": "bad.fine"},
        ["act=relu,tanh"],
        "error: model=mine does not take act; add an act parameter to bad.fine or drop act from the sweep",
    ),
    (
        {"_target_": "bad.fine"},
        ["reg=none,l1"],
        "error: model=mine does not take reg; add a reg parameter to bad.fine or drop reg from the sweep",
    ),
]


# make test-fast runs the first and a swept key's (each case starts a launching process that builds the model)
SOME = [case if n in (0, 8) else pytest.param(*case, marks=pytest.mark.slow) for n, case in enumerate(BAD)]


@pytest.mark.parametrize("keys, swept, line", SOME, ids=[line[7:40] for _, _, line in BAD])
def test_a_bad_builder_is_one_error_line_and_no_run(tmp_path, fashion_small, keys, swept, line):
    (tmp_path / "bad.py").write_text(BUILDERS)
    (tmp_path / "model").mkdir()
    option = "\n".join(f"{k}: {v}" for k, v in {"name": "mine", **keys}.items())
    (tmp_path / "model" / "mine.yaml").write_text(option + "\n")
    done = run_module(
        "sweep.train", "-m", "--config-dir", str(tmp_path), "model=mine", *swept, *small(fashion_small), cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr[-3000:]
    errors = [text for text in done.stderr.splitlines() if text.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(line), done.stderr[-3000:]
    assert all_runs() == []


@pytest.mark.slow
def test_a_single_run_checks_its_builder_too(tmp_path, fashion_small):
    (tmp_path / "bad.py").write_text(BUILDERS)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "mine.yaml").write_text("name: mine\n_target_: bad.no_softmax\n")
    done = run_module("sweep.train", "--config-dir", str(tmp_path), "model=mine", *small(fashion_small), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: model=mine: bad.no_softmax's output is not a")
    assert all_runs() == []


@pytest.mark.slow
def test_compare_shows_the_model_as_a_factor_when_a_sweep_varies_it(tmp_path, fashion_small):
    done = run_module("sweep.train", "-m", "model=mlp,cnn", "model.filters=[8]", *small(fashion_small), cwd=tmp_path)
    assert done.returncode == 2 and "error: model.filters: Key 'filters' is not in struct" in done.stderr
    done = run_module("sweep.train", "-m", "model=mlp,cnn", *small(fashion_small), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trains with Keras' fit, unfused") == 1  # the cnn only; the mlp trains in-graph
    shown = run_module("sweep.compare", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr[-3000:]
    rows = [line for line in shown.stdout.splitlines() if line.startswith(("| cnn", "| mlp"))]
    assert "(rows: model" in shown.stdout and len(rows) >= 2, shown.stdout
    (fixed,) = [line for line in shown.stdout.splitlines() if line.startswith("Fixed: ")]
    for held in ("model.hidden=[128, 128] (model=mlp)", "model.reg_at=input", "model.filters=[32, 64] (model=cnn)"):
        assert held in fixed, fixed  # each model's own keys, said to be its own
    assert "model.kernel=3 (model=cnn)" in fixed and "model.name" not in fixed
